/**
 * The PostgreSQL schema, as versioned migrations (the same mechanism as SQLite's, applied by
 * postgres-store.ts under an advisory lock so that nodes starting together do not race).
 *
 * Unlike SQLite, everything is in one database and every commit is durable: the event-id index
 * is a UNIQUE index on the entries themselves, because with several nodes it is also what
 * stops one id being appended twice (store.ts, DuplicateEventIdError). Times are kept as the
 * RFC 3339 text the API serves, so records round-trip byte for byte as they do on SQLite.
 */
import type { Migration } from '../migrations.ts';

export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'core',
    statements: [
      `CREATE TABLE projects (
         pk integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         id text NOT NULL UNIQUE,
         name text NOT NULL,
         created_at text NOT NULL,
         log_origin text NOT NULL,
         system boolean NOT NULL DEFAULT false,
         tree_size bigint NOT NULL DEFAULT 0
       )`,
      `CREATE TABLE keys (
         id text PRIMARY KEY,
         project_pk integer REFERENCES projects(pk),
         role text NOT NULL,
         description text NOT NULL,
         created_at text NOT NULL,
         last_used_at text,
         secret_hash text NOT NULL UNIQUE,
         revoked_at text
       )`,
      `CREATE INDEX keys_by_project ON keys(project_pk, created_at)`,
      // The primary key clusters a log's entries in index order; the unique id index is the
      // de-duplication index (C collation: ids compare as bytes, and faster).
      `CREATE TABLE entries (
         project_pk integer NOT NULL,
         idx bigint NOT NULL,
         event_id text COLLATE "C" NOT NULL,
         envelope bytea,
         PRIMARY KEY (project_pk, idx),
         CONSTRAINT entries_event_id UNIQUE (project_pk, event_id)
       )`,
      `CREATE TABLE tiles (
         project_pk integer NOT NULL,
         level smallint NOT NULL,
         idx bigint NOT NULL,
         hashes bytea NOT NULL,
         PRIMARY KEY (project_pk, level, idx)
       )`,
      `CREATE TABLE checkpoints (
         project_pk integer NOT NULL,
         tree_size bigint NOT NULL,
         root_hash bytea NOT NULL,
         note text NOT NULL,
         created_at text NOT NULL,
         PRIMARY KEY (project_pk, tree_size)
       )`,
      `CREATE TABLE settings (
         project_pk integer NOT NULL,
         name text NOT NULL,
         version integer NOT NULL,
         value text NOT NULL,
         updated_at text NOT NULL,
         PRIMARY KEY (project_pk, name, version)
       )`,
    ],
  },
  {
    // SQLite's migration 2: how a key may authenticate besides Bearer, and the sealed HTTP
    // Digest HA1 of `atlas` keys (store.ts KeyRecord).
    version: 2,
    name: 'key-types',
    statements: [`ALTER TABLE keys ADD COLUMN type text NOT NULL DEFAULT 'native'`, `ALTER TABLE keys ADD COLUMN digest_ha1_sealed text`],
  },
  {
    // SQLite's migration 3: one row per destination, the next log index to deliver.
    version: 3,
    name: 'forwarding cursors',
    statements: [
      `CREATE TABLE forward_cursors (
         project_pk integer NOT NULL,
         destination_id text NOT NULL,
         next_index bigint NOT NULL,
         updated_at text NOT NULL,
         PRIMARY KEY (project_pk, destination_id)
       )`,
    ],
  },
  {
    // The search index (postgres-search.ts). SQLite keeps it in a derived file of its own; here
    // it is in the database like everything else, shared by every node.
    version: 4,
    name: 'search',
    statements: [
      // How far each log's search documents go: entries below `size` are in search_events.
      `CREATE TABLE search_indexed (project_pk integer PRIMARY KEY, size bigint NOT NULL)`,
      // One row per entry. Every B-tree index ends in (time, idx), the search order, so a page
      // is one range scan that LIMIT stops. `words` is NULL for an entry without text.
      `CREATE TABLE search_events (
         project_pk integer NOT NULL,
         idx bigint NOT NULL,
         time bigint NOT NULL,
         name text,
         source text,
         ip text,
         outcome text,
         words tsvector,
         long_words text,
         PRIMARY KEY (project_pk, idx)
       )`,
      `CREATE INDEX search_by_time ON search_events (project_pk, time, idx)`,
      // Partial indexes: events without the field cost nothing, and `field = $n` implies NOT NULL.
      `CREATE INDEX search_by_name ON search_events (project_pk, name, time, idx) WHERE name IS NOT NULL`,
      `CREATE INDEX search_by_source ON search_events (project_pk, source, time, idx) WHERE source IS NOT NULL`,
      `CREATE INDEX search_by_ip ON search_events (project_pk, ip, time, idx) WHERE ip IS NOT NULL`,
      `CREATE INDEX search_by_outcome ON search_events (project_pk, outcome, time, idx) WHERE outcome IS NOT NULL`,
      `CREATE INDEX search_by_words ON search_events USING gin (words)`,
      // An event has any number of actors.
      `CREATE TABLE search_actors (
         project_pk integer NOT NULL,
         actor text NOT NULL,
         time bigint NOT NULL,
         idx bigint NOT NULL,
         PRIMARY KEY (project_pk, actor, time, idx)
       )`,
    ],
  },
  {
    // Named leases (store.ts takeLease): which node delivers a destination, for how long.
    version: 5,
    name: 'leases',
    statements: [`CREATE TABLE leases (name text PRIMARY KEY, holder text NOT NULL, expires_at timestamptz NOT NULL)`],
  },
  {
    // Revoked OAuth access tokens (store.ts revokeAccessToken), until they expire: in the
    // database, so that a token revoked through one node is refused by all of them.
    version: 6,
    name: 'revoked access tokens',
    statements: [
      `CREATE TABLE revoked_access_tokens (token_id text PRIMARY KEY, expires_sec bigint NOT NULL)`,
      `CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_sec)`,
    ],
  },
  {
    // An append is one statement (postgres-append.ts); this aborts it when a log was not at the
    // size the append was planned at, with an SQLSTATE of its own.
    version: 7,
    name: 'append check',
    statements: [
      `CREATE FUNCTION veritrail_check_moved(moved integer, logs integer) RETURNS boolean LANGUAGE plpgsql AS $$
       BEGIN
         IF moved <> logs THEN
           RAISE EXCEPTION 'a log is not at the size this append was planned at' USING ERRCODE = 'VTS01';
         END IF;
         RETURN true;
       END
       $$`,
    ],
  },
  {
    // The delivering node's view of a destination, beside its cursor (store.ts CursorRecord), so
    // that a node standing by reports it.
    version: 8,
    name: 'forwarding status',
    statements: [`ALTER TABLE forward_cursors ADD COLUMN status text`],
  },
  {
    // HTTP Digest nonce counts (store.ts recordDigestNonceUse), shared by every node so that a
    // replayed request is refused whichever node it reaches.
    version: 9,
    name: 'digest nonces',
    statements: [
      `CREATE TABLE digest_nonce_uses (nonce text PRIMARY KEY, nc bigint NOT NULL, issued_sec bigint NOT NULL)`,
      `CREATE INDEX digest_nonce_uses_by_issue ON digest_nonce_uses (issued_sec)`,
    ],
  },
  {
    // SQLite's migration 6: a full tile's summary (log/tile-summary.ts); NULL for partial tiles
    // and older ones.
    version: 10,
    name: 'tile summaries',
    statements: [`ALTER TABLE tiles ADD COLUMN summary bytea`],
  },
];
