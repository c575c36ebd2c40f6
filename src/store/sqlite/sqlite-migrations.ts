/**
 * The SQLite schema, as versioned migrations. Three files make one store:
 *  - the main file (`veritrail.db`) holds everything that is the log's truth: projects, keys,
 *    entries, tiles, checkpoints, settings. Every commit is durable (WAL, synchronous=FULL).
 *  - two derived files hold what can be rebuilt from the main file: the index file
 *    (`veritrail-index.db`), the event-id index used for de-duplication, and the search file
 *    (`veritrail-search.db`), the search index. Their schemas are at the end of this file; see
 *    sqlite-store.ts for why they are apart.
 */
import type { Migration } from '../migrations.ts';

export const SQLITE_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core',
    statements: [
      `CREATE TABLE projects (
         pk INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         name TEXT NOT NULL,
         created_at TEXT NOT NULL,
         log_origin TEXT NOT NULL,
         system INTEGER NOT NULL DEFAULT 0,
         tree_size INTEGER NOT NULL DEFAULT 0
       )`,
      `CREATE TABLE keys (
         id TEXT PRIMARY KEY,
         project_pk INTEGER REFERENCES projects(pk),
         role TEXT NOT NULL,
         description TEXT NOT NULL,
         created_at TEXT NOT NULL,
         last_used_at TEXT,
         secret_hash TEXT NOT NULL UNIQUE,
         revoked_at TEXT
       )`,
      `CREATE INDEX keys_by_project ON keys(project_pk, created_at)`,
      // One B-tree for every log's entries: the rowid packs (project, index), see entryKey().
      `CREATE TABLE entries (
         key INTEGER PRIMARY KEY,
         envelope BLOB
       )`,
      `CREATE TABLE tiles (
         project_pk INTEGER NOT NULL,
         level INTEGER NOT NULL,
         idx INTEGER NOT NULL,
         hashes BLOB NOT NULL,
         PRIMARY KEY (project_pk, level, idx)
       )`,
      `CREATE TABLE checkpoints (
         project_pk INTEGER NOT NULL,
         tree_size INTEGER NOT NULL,
         root_hash BLOB NOT NULL,
         note TEXT NOT NULL,
         created_at TEXT NOT NULL,
         PRIMARY KEY (project_pk, tree_size)
       )`,
      `CREATE TABLE settings (
         project_pk INTEGER NOT NULL,
         name TEXT NOT NULL,
         version INTEGER NOT NULL,
         value TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         PRIMARY KEY (project_pk, name, version)
       )`,
    ],
  },
  {
    // Atlas-style keys (issue 6): how a key may authenticate besides Bearer, and the sealed
    // HTTP Digest HA1 of `atlas` keys (store.ts KeyRecord).
    version: 2,
    name: 'key-types',
    statements: [`ALTER TABLE keys ADD COLUMN type TEXT NOT NULL DEFAULT 'native'`, `ALTER TABLE keys ADD COLUMN digest_ha1_sealed TEXT`],
  },
  {
    version: 3,
    name: 'forwarding cursors',
    statements: [
      // One row per destination: the next log index to deliver (src/forward/).
      `CREATE TABLE forward_cursors (
         project_pk INTEGER NOT NULL,
         destination_id TEXT NOT NULL,
         next_index INTEGER NOT NULL,
         updated_at TEXT NOT NULL,
         PRIMARY KEY (project_pk, destination_id)
       )`,
    ],
  },
  {
    // Revoked OAuth access tokens (store.ts revokeAccessToken), until they expire.
    version: 4,
    name: 'revoked access tokens',
    statements: [
      `CREATE TABLE revoked_access_tokens (token_id TEXT PRIMARY KEY, expires_sec INTEGER NOT NULL)`,
      `CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_sec)`,
    ],
  },
  {
    // The delivering node's view of a destination, beside its cursor (store.ts CursorRecord).
    version: 5,
    name: 'forwarding status',
    statements: [`ALTER TABLE forward_cursors ADD COLUMN status TEXT`],
  },
  {
    // A full tile's summary (log/tile-summary.ts); NULL for partial tiles and older ones.
    version: 6,
    name: 'tile summaries',
    statements: [`ALTER TABLE tiles ADD COLUMN summary BLOB`],
  },
];

/**
 * The derived files' schemas. They hold data the main file can rebuild, so a change of version
 * drops and rebuilds the file instead of migrating it (sqlite-derived-file.ts).
 */

/** The event-id index (`veritrail-index.db`), written by the sequencer's commits. */
export const SQLITE_INDEX_SCHEMA = {
  version: 3,
  statements: [
    // How far each log has been indexed: entries below `size` are in event_ids.
    `CREATE TABLE indexed (project_pk INTEGER PRIMARY KEY, size INTEGER NOT NULL)`,
    // 48 bits of SHA-256(event id) -> index. Several indexes may share a hash; the entry itself
    // settles which one, if any, has the id.
    `CREATE TABLE event_ids (
       project_pk INTEGER NOT NULL,
       id_hash INTEGER NOT NULL,
       idx INTEGER NOT NULL,
       PRIMARY KEY (project_pk, id_hash, idx)
     ) WITHOUT ROWID`,
  ],
};

/**
 * The search index (`veritrail-search.db`, sqlite-search.ts), written by the search indexer in
 * its own thread: a file of its own, so that its long transactions never wait on the
 * sequencer's, nor the sequencer's on its.
 */
export const SQLITE_SEARCH_SCHEMA = {
  version: 2,
  statements: [
    // How far each log's search documents go: entries below `size` are in search_events.
    `CREATE TABLE search_indexed (project_pk INTEGER PRIMARY KEY, size INTEGER NOT NULL)`,
    // One row per entry, keyed like the main file's entries (sqlite-keys.ts), so rows arrive in
    // key order and each secondary index below ends in the key: (…, time, key) is the search
    // order, and every page is a range scan of one index.
    `CREATE TABLE search_events (
       key INTEGER PRIMARY KEY,
       project_pk INTEGER NOT NULL,
       time INTEGER NOT NULL,
       name TEXT,
       source TEXT,
       ip TEXT,
       outcome TEXT
     )`,
    `CREATE INDEX search_by_time ON search_events (project_pk, time)`,
    // Partial indexes: events without the field cost nothing, and `field = ?` implies NOT NULL.
    `CREATE INDEX search_by_name ON search_events (project_pk, name, time) WHERE name IS NOT NULL`,
    `CREATE INDEX search_by_source ON search_events (project_pk, source, time) WHERE source IS NOT NULL`,
    `CREATE INDEX search_by_ip ON search_events (project_pk, ip, time) WHERE ip IS NOT NULL`,
    `CREATE INDEX search_by_outcome ON search_events (project_pk, outcome, time) WHERE outcome IS NOT NULL`,
    // An event has any number of actors (a CloudTrail userName and ARN, every Mongo user).
    `CREATE TABLE search_actors (
       project_pk INTEGER NOT NULL,
       actor TEXT NOT NULL,
       time INTEGER NOT NULL,
       key INTEGER NOT NULL,
       PRIMARY KEY (project_pk, actor, time, key)
     ) WITHOUT ROWID`,
    // Full text: rowid = entry key, so `rowid BETWEEN` scopes a MATCH to one project. Contentless
    // (the words live in the main file's envelopes) and without column sizes (no ranking is done).
    `CREATE VIRTUAL TABLE search_text USING fts5 (text, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2')`,
    // A zone map: the time span of each block of SEARCH_BLOCK_ENTRIES entries, so that a full-text
    // page read newest-by-index first can prove no older entry belongs in it (sqlite-search.ts).
    `CREATE TABLE search_blocks (
       project_pk INTEGER NOT NULL,
       block INTEGER NOT NULL,
       min_time INTEGER NOT NULL,
       max_time INTEGER NOT NULL,
       PRIMARY KEY (project_pk, block)
     ) WITHOUT ROWID`,
  ],
};
