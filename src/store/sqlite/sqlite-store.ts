/**
 * The embedded engine: better-sqlite3 over three files in the data directory: the main file,
 * and two derived files (sqlite-derived-file.ts) that the main file can always rebuild.
 *
 * Why the event-id index is a file of its own. De-duplication needs an index from event id to entry, and event ids are random
 * (CloudTrail's are UUIDs). A random-key B-tree touches a different page for almost every insert,
 * and with WAL and synchronous=FULL each of those pages is written and fsynced on every commit:
 * measured on the reference machine, that index alone cut durable inserts of 1 KiB rows from
 * ~78,000/s to ~17,000/s at a million rows. The index is derived data (every envelope carries its
 * id), so it lives in its own file, written without fsync, with a high-water mark per log. On
 * open, entries above the mark are indexed again; after a power loss (a new boot id without a
 * clean close) the file is rebuilt from the main file. The main file keeps every byte of truth
 * and is durable at every commit.
 *
 * Entries of every log share one table whose rowid packs (project, index) (sqlite-keys.ts), so
 * this engine allows 2^21 projects of up to 2^32 entries each.
 *
 * The search index (sqlite-search.ts, `veritrail-search.db`) is derived too, and its random-key
 * B-trees and FTS5 segments would cost the durable commit far more than the event-id index does.
 * It is not written on the commit path at all: the search indexer (query/search-indexer.ts)
 * follows each log's tail and calls indexForSearch, in a thread of its own through a second
 * store opened with `searchWriter` (its own file, so neither writer ever waits on the other).
 * The server's store reads it for searches.
 */
import fs from 'node:fs';
import { hash } from 'node:crypto';
import Database from 'better-sqlite3';
import { parseEnvelope } from '../../core/envelope.ts';
import { checkMigrations, pendingMigrations } from '../migrations.ts';
import { checkpointFromRow, cursorFromRow, keyFromRow, projectFromRow, settingFromRow, type CheckpointRow, type CursorRow, type KeyRow, type ProjectRow, type SettingRow } from '../store-rows.ts';
import {
  AlreadyExistsError,
  DuplicateEventIdError,
  TreeSizeMismatchError,
  VersionMismatchError,
  type CheckpointRecord,
  type CursorRecord,
  type KeyRecord,
  type LogAppend,
  type LogLock,
  type ProjectRecord,
  type SearchDocument,
  type SearchHit,
  type SearchQuery,
  type SettingRecord,
  type Store,
  type StoreCapabilities,
  type StoredEntry,
  type StoredLeafHash,
  type StoredTile,
  type TileRef,
} from '../store.ts';
import { DEFAULT_SQLITE_INDEX_CACHE_KIB, SQLITE_SEARCH_READ_CACHE_KIB, sqlitePaths, type SqliteConfig } from './sqlite-config.ts';
import { SQLITE_INDEX_SCHEMA, SQLITE_MIGRATIONS, SQLITE_SEARCH_SCHEMA } from './sqlite-migrations.ts';
import { closeDerivedAsOwner, openDerivedAsOwner, openDerivedForWriting, openDerivedReadOnly } from './sqlite-derived-file.ts';
import { SqliteSequencerLock } from './sqlite-sequencer-lock.ts';
import { entryKey, INDEX_BITS } from './sqlite-keys.ts';
import { SqliteSearch } from './sqlite-search.ts';

/** The most projects (2^21) and the most entries per project (2^32) this engine can key. */
export const SQLITE_MAX_PROJECTS = 2 ** 21;
export const SQLITE_MAX_ENTRIES = INDEX_BITS;

/** Bounds knownAbsent between appends (reads look ids up too); past it, append looks up again. */
const MAX_KNOWN_ABSENT = 100_000;

/** The RFC 6962 leaf domain byte, before an entry's bytes in its leaf hash (hashEntries). */
const LEAF_PREFIX = Buffer.from([0x00]);

/** 48 bits of SHA-256 of an event id: a safe integer for the index file's key. */
function idHash(eventId: string): number {
  // From hex: a string digest costs half what a Buffer one does on Node 20 (log/hashing.ts).
  return parseInt(hash('sha256', eventId, 'hex').slice(0, 12), 16);
}


export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { engine: 'sqlite', concurrentWriters: false, searchWritesInServer: false, appendFindsStoredIds: false };

  private readonly main: Database.Database;
  private readonly index: Database.Database | undefined;
  private readonly lock: SqliteSequencerLock | undefined;
  /** Project id -> pk. Projects are never renumbered, so entries never go stale. */
  private readonly pks = new Map<string, number>();
  /** The search file (veritrail-search.db); undefined for a reader when it cannot be trusted. */
  private readonly search: Database.Database | undefined;
  /** Its search tables. */
  private readonly searchIndex: SqliteSearch | undefined;
  /** This store owns the data directory (the server): it holds the lock and marks the derived files. */
  private readonly owner: boolean;
  /** Set when an index-file write failed after a main commit; cleared by catching up. */
  private indexStale = false;
  /**
   * Event ids that findByEventIds found absent, by pk, since the last append. This process is
   * the store's only writer (the data-directory lock), so such an id stays absent until this
   * process appends again, and append need not look it up a second time: the sequencer's own
   * lookup just before its append covers the batch. Cleared by every append.
   */
  private knownAbsent = new Map<number, Map<string, number>>();
  /** The index file's writes, prepared on first use. */
  private indexWriteStatements: { insert: Database.Statement<[number, number, number]>; setMark: Database.Statement<[number, number]> } | undefined;
  /**
   * Leases by name (takeLease). In memory: this process is the store's only user (the
   * data-directory lock), so its memory is where every holder looks, and a lease ends with it.
   */
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();
  /** Digest nonce uses (recordDigestNonceUse), in memory for the same reason. */
  private readonly digestNonces = new Map<string, { nc: number; issuedSec: number }>();
  private closed = false;
  private readonly stmt;
  private lookupStatement: Database.Statement<[number, string], { id_hash: number; idx: number }> | undefined;

  constructor(private readonly config: SqliteConfig) {
    this.owner = !config.readOnly && !config.searchWriter;
    const paths = sqlitePaths(config);
    if (this.owner) fs.mkdirSync(config.dataDir, { recursive: true });
    else if (!fs.existsSync(paths.main)) throw new Error(`no Veritrail store at ${paths.main}`);
    this.lock = this.owner ? SqliteSequencerLock.acquire(config.dataDir) : undefined;
    try {
      this.main = new Database(paths.main, { readonly: !this.owner, fileMustExist: !this.owner });
      if (this.owner) {
        this.main.pragma('journal_mode = WAL');
        this.main.pragma('synchronous = FULL');
      }
      this.main.pragma('busy_timeout = 5000');
      this.migrate(!this.owner);
      this.stmt = this.prepare();
      const cacheKiB = config.indexCacheKiB ?? DEFAULT_SQLITE_INDEX_CACHE_KIB;
      if (this.owner) {
        // The event-id index is rebuilt below if it could not be trusted; the search index is
        // left empty for the search indexer to rebuild in the background.
        this.index = openDerivedAsOwner(paths.index, SQLITE_INDEX_SCHEMA, cacheKiB);
        this.catchUpIndex();
        this.search = openDerivedAsOwner(paths.search, SQLITE_SEARCH_SCHEMA, SQLITE_SEARCH_READ_CACHE_KIB, (db) => this.searchNotAhead(db));
      } else if (config.searchWriter) {
        this.search = openDerivedForWriting(paths.search, SQLITE_SEARCH_SCHEMA, cacheKiB);
      } else {
        this.search = openDerivedReadOnly(paths.search, SQLITE_SEARCH_SCHEMA, (db) => this.searchNotAhead(db));
      }
      this.searchIndex = this.search && new SqliteSearch(this.search);
    } catch (error) {
      this.lock?.release();
      throw error;
    }
  }

  /**
   * No log's search index may be ahead of the log itself (the main file lost commits, say,
   * restored from a backup; FTS5 rows cannot be taken back one by one, so the file is rebuilt).
   */
  private searchNotAhead(db: Database.Database): boolean {
    const sizes = new SqliteSearch(db).sizes();
    return this.stmt.projects.all().every((project) => (sizes.get(project.pk) ?? 0) <= project.tree_size);
  }

  private migrate(readOnly: boolean): void {
    checkMigrations(SQLITE_MIGRATIONS);
    this.main.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = (this.main.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    const pending = pendingMigrations(SQLITE_MIGRATIONS, current, 'SQLite');
    if (readOnly && pending.length > 0) throw new Error('the store needs migrations; start the server once before reading it');
    for (const migration of pending) {
      this.main.transaction(() => {
        for (const sql of migration.statements) this.main.exec(sql);
        this.main
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, new Date().toISOString());
      })();
    }
  }

  private prepare() {
    const db = this.main;
    return {
      projectById: db.prepare<[string], ProjectRow>('SELECT * FROM projects WHERE id = ?'),
      projects: db.prepare<[], ProjectRow>('SELECT * FROM projects ORDER BY pk'),
      firstProjects: db.prepare<[number], ProjectRow>('SELECT * FROM projects ORDER BY pk LIMIT ?'),
      insertProject: db.prepare('INSERT INTO projects (id, name, created_at, log_origin, system) VALUES (?, ?, ?, ?, ?)'),
      treeSize: db.prepare<[number], { tree_size: number }>('SELECT tree_size FROM projects WHERE pk = ?'),
      setTreeSize: db.prepare('UPDATE projects SET tree_size = ? WHERE pk = ?'),
      insertEntry: db.prepare('INSERT INTO entries (key, envelope) VALUES (?, ?)'),
      entry: db.prepare<[number], { envelope: Buffer }>('SELECT envelope FROM entries WHERE key = ?'),
      entries: db.prepare<[number, number], { key: number; envelope: Buffer }>('SELECT key, envelope FROM entries WHERE key >= ? AND key < ? ORDER BY key'),
      putTile: db.prepare('INSERT INTO tiles (project_pk, level, idx, hashes, summary) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET hashes = excluded.hashes, summary = excluded.summary'),
      tile: db.prepare<[number, number, number], { hashes: Buffer }>('SELECT hashes FROM tiles WHERE project_pk = ? AND level = ? AND idx = ?'),
      tileWithSummary: db.prepare<[number, number, number], { hashes: Buffer; summary: Buffer | null }>('SELECT hashes, summary FROM tiles WHERE project_pk = ? AND level = ? AND idx = ?'),
      insertKey: db.prepare('INSERT INTO keys (id, project_pk, role, description, created_at, secret_hash, type, digest_ha1_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      keyByHash: db.prepare<[string], KeyRow>(
        `SELECT k.*, p.id AS project_id FROM keys k LEFT JOIN projects p ON p.pk = k.project_pk WHERE k.secret_hash = ? AND k.revoked_at IS NULL`,
      ),
      keyById: db.prepare<[string], KeyRow>(
        `SELECT k.*, p.id AS project_id FROM keys k LEFT JOIN projects p ON p.pk = k.project_pk WHERE k.id = ? AND k.revoked_at IS NULL`,
      ),
      keysOfProject: db.prepare<[number], KeyRow>(
        `SELECT k.*, p.id AS project_id FROM keys k JOIN projects p ON p.pk = k.project_pk WHERE k.project_pk = ? AND k.revoked_at IS NULL ORDER BY k.created_at, k.id`,
      ),
      orgKeys: db.prepare<[], KeyRow>(`SELECT k.*, NULL AS project_id FROM keys k WHERE k.project_pk IS NULL AND k.revoked_at IS NULL ORDER BY k.created_at, k.id`),
      revokeKey: db.prepare('UPDATE keys SET revoked_at = ? WHERE id = ? AND project_pk IS ? AND revoked_at IS NULL'),
      touchKey: db.prepare('UPDATE keys SET last_used_at = ? WHERE id = ?'),
      dropExpiredTokens: db.prepare('DELETE FROM revoked_access_tokens WHERE expires_sec <= ?'),
      revokedTokens: db.prepare<[], { count: number; first: number | null }>('SELECT count(*) AS count, min(expires_sec) AS first FROM revoked_access_tokens'),
      revokeToken: db.prepare('INSERT OR IGNORE INTO revoked_access_tokens (token_id, expires_sec) VALUES (?, ?)'),
      tokenRevoked: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM revoked_access_tokens WHERE token_id = ?'),
      putCheckpoint: db.prepare(
        `INSERT INTO checkpoints (project_pk, tree_size, root_hash, note, created_at)
         SELECT @pk, @size, @root, @note, @at WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE project_pk = @pk AND tree_size >= @size)`,
      ),
      latestCheckpoint: db.prepare<[number], CheckpointRow>('SELECT * FROM checkpoints WHERE project_pk = ? ORDER BY tree_size DESC LIMIT 1'),
      checkpointAt: db.prepare<[number, number], CheckpointRow>('SELECT * FROM checkpoints WHERE project_pk = ? AND tree_size = ?'),
      setting: db.prepare<[number, string], SettingRow>('SELECT * FROM settings WHERE project_pk = ? AND name = ? ORDER BY version DESC LIMIT 1'),
      settingHistory: db.prepare<[number, string], SettingRow>('SELECT * FROM settings WHERE project_pk = ? AND name = ? ORDER BY version'),
      insertSetting: db.prepare('INSERT INTO settings (project_pk, name, version, value, updated_at) VALUES (?, ?, ?, ?, ?)'),
      // substr() rather than LIKE: a prefix holding % or _ must match literally.
      listSettings: db.prepare<[{ pk: number; prefix: string }], SettingRow>(
        `SELECT s.* FROM settings s
         WHERE s.project_pk = @pk AND substr(s.name, 1, length(@prefix)) = @prefix
           AND s.version = (SELECT max(version) FROM settings WHERE project_pk = s.project_pk AND name = s.name)
         ORDER BY s.name`,
      ),
      cursor: db.prepare<[number, string], CursorRow>('SELECT next_index, updated_at, status FROM forward_cursors WHERE project_pk = ? AND destination_id = ?'),
      setCursor: db.prepare('INSERT OR REPLACE INTO forward_cursors (project_pk, destination_id, next_index, updated_at, status) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  // --- the event-id index file -------------------------------------------------------------

  /** Indexes every entry above each log's high-water mark (entries committed but not indexed). */
  private catchUpIndex(): void {
    const db = this.index!;
    const marks = new Map((db.prepare('SELECT project_pk, size FROM indexed').all() as Array<{ project_pk: number; size: number }>).map((r) => [r.project_pk, r.size]));
    const { insert, setMark } = this.indexWrites;
    for (const project of this.stmt.projects.all()) {
      const from = marks.get(project.pk) ?? 0;
      if (from > project.tree_size) {
        db.prepare('DELETE FROM event_ids WHERE project_pk = ? AND idx >= ?').run(project.pk, project.tree_size);
        setMark.run(project.pk, project.tree_size);
        continue;
      }
      for (let start = from; start < project.tree_size; start += 10_000) {
        const end = Math.min(project.tree_size, start + 10_000);
        const rows = this.stmt.entries.all(entryKey(project.pk, start), entryKey(project.pk, end));
        db.transaction(() => {
          for (const row of rows) {
            if (row.envelope) insert.run(project.pk, idHash(parseEnvelope(row.envelope).eventId), row.key - project.pk * INDEX_BITS);
          }
          setMark.run(project.pk, end);
        })();
      }
    }
    this.indexStale = false;
  }

  private get lookupIds(): Database.Statement<[number, string], { id_hash: number; idx: number }> {
    return (this.lookupStatement ??= this.index!.prepare(
      'SELECT id_hash, idx FROM event_ids WHERE project_pk = ? AND id_hash IN (SELECT value FROM json_each(?))',
    ));
  }

  private get indexWrites(): NonNullable<SqliteStore['indexWriteStatements']> {
    return (this.indexWriteStatements ??= {
      insert: this.index!.prepare('INSERT OR IGNORE INTO event_ids (project_pk, id_hash, idx) VALUES (?, ?, ?)'),
      setMark: this.index!.prepare('INSERT OR REPLACE INTO indexed (project_pk, size) VALUES (?, ?)'),
    });
  }

  /** `absent`: the ids findByEventIds looked up for this batch, with their hashes, not hashed again. */
  private writeIndex(appends: readonly LogAppend[], absent: Map<number, Map<string, number>>): void {
    const { insert, setMark } = this.indexWrites;
    this.index!.transaction(() => {
      for (const append of appends) {
        const pk = this.pk(append.projectId);
        const hashes = absent.get(pk);
        append.entries.forEach((entry, i) => insert.run(pk, hashes?.get(entry.eventId) ?? idHash(entry.eventId), append.fromSize + i));
        setMark.run(pk, append.fromSize + append.entries.length);
      }
    })();
  }

  // --- Store -------------------------------------------------------------------------------

  async ping(): Promise<void> {
    this.check();
    this.main.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.index) closeDerivedAsOwner(this.index);
    if (this.search) {
      if (this.owner) closeDerivedAsOwner(this.search);
      else this.search.close();
    }
    this.main.close();
    this.lock?.release();
  }

  private check(): void {
    if (this.closed) throw new Error('the SQLite store is closed');
  }

  /** The pk of a project id; throws for an unknown one (callers check existence first). */
  private pk(projectId: string): number {
    let pk = this.pks.get(projectId);
    if (pk === undefined) {
      pk = this.stmt.projectById.get(projectId)?.pk;
      if (pk === undefined) throw new Error(`no project ${projectId} in the SQLite store`);
      this.pks.set(projectId, pk);
    }
    return pk;
  }

  async createProject(project: ProjectRecord): Promise<void> {
    this.check();
    try {
      const { lastInsertRowid } = this.stmt.insertProject.run(project.id, project.name, project.createdAt, project.logOrigin, project.system ? 1 : 0);
      if (Number(lastInsertRowid) >= SQLITE_MAX_PROJECTS) {
        this.main.prepare('DELETE FROM projects WHERE pk = ?').run(lastInsertRowid);
        throw new Error(`the SQLite engine holds at most ${SQLITE_MAX_PROJECTS} projects; move to PostgreSQL`);
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new AlreadyExistsError(`project ${project.id} exists`);
      throw error;
    }
  }

  async getProject(id: string): Promise<ProjectRecord | undefined> {
    this.check();
    const row = this.stmt.projectById.get(id);
    return row && projectFromRow(row);
  }

  async listProjects(options: { limit?: number } = {}): Promise<ProjectRecord[]> {
    this.check();
    return (options.limit === undefined ? this.stmt.projects.all() : this.stmt.firstProjects.all(options.limit)).map(projectFromRow);
  }

  async createKey(key: KeyRecord): Promise<void> {
    this.check();
    try {
      const pk = key.projectId === null ? null : this.pk(key.projectId);
      this.stmt.insertKey.run(key.id, pk, key.role, key.description, key.createdAt, key.secretHash, key.type ?? 'native', key.digestHa1Sealed ?? null);
    } catch (error) {
      if (String((error as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new AlreadyExistsError(`key ${key.id} exists`);
      throw error;
    }
  }

  async findKeyBySecretHash(secretHash: string): Promise<KeyRecord | undefined> {
    this.check();
    const row = this.stmt.keyByHash.get(secretHash);
    return row && keyFromRow(row);
  }

  async findKeyById(keyId: string): Promise<KeyRecord | undefined> {
    this.check();
    const row = this.stmt.keyById.get(keyId);
    return row && keyFromRow(row);
  }

  async listKeys(projectId: string | null): Promise<KeyRecord[]> {
    this.check();
    const rows = projectId === null ? this.stmt.orgKeys.all() : this.stmt.keysOfProject.all(this.pk(projectId));
    return rows.map(keyFromRow);
  }

  async revokeKey(projectId: string | null, keyId: string): Promise<boolean> {
    this.check();
    const pk = projectId === null ? null : this.pk(projectId);
    return this.stmt.revokeKey.run(new Date().toISOString(), keyId, pk).changes === 1;
  }

  async touchKey(keyId: string, at: string): Promise<void> {
    this.check();
    this.stmt.touchKey.run(at, keyId);
  }

  /** In memory, like leases: this process is the store's only user (the data-directory lock). */
  async recordDigestNonceUse(nonce: string, nc: number, issuedSec: number, forgetBeforeSec: number): Promise<boolean> {
    this.check();
    for (const [known, use] of this.digestNonces) if (use.issuedSec < forgetBeforeSec) this.digestNonces.delete(known);
    const seen = this.digestNonces.get(nonce);
    if (seen && nc <= seen.nc) return false;
    this.digestNonces.set(nonce, { nc, issuedSec });
    return true;
  }

  async revokeAccessToken(tokenId: string, expiresSec: number, bound: { nowSec: number; max: number }): Promise<{ listed: true } | { listed: false; firstExpirySec: number }> {
    this.check();
    return this.main.transaction(() => {
      this.stmt.dropExpiredTokens.run(bound.nowSec);
      const listed = this.stmt.revokedTokens.get()!;
      if (listed.count >= bound.max) return { listed: false as const, firstExpirySec: listed.first! };
      this.stmt.revokeToken.run(tokenId, expiresSec);
      return { listed: true as const };
    })();
  }

  async isAccessTokenRevoked(tokenId: string): Promise<boolean> {
    this.check();
    return this.stmt.tokenRevoked.get(tokenId) !== undefined;
  }

  async treeSize(projectId: string): Promise<number> {
    this.check();
    return this.stmt.treeSize.get(this.pk(projectId))?.tree_size ?? 0;
  }

  /** Free: the data-directory lock already makes this process the only sequencer of the store. */
  async lockLogs(): Promise<LogLock> {
    this.check();
    return { append: (appends) => this.append(appends), release: async () => {} };
  }

  async append(appends: LogAppend[]): Promise<void> {
    this.check();
    if (this.indexStale) this.catchUpIndex();
    // One IMMEDIATE transaction for every log in the batch; better-sqlite3 rolls it back if
    // anything throws inside, so a size mismatch or a stored id leaves nothing written.
    // What lookups found absent holds until this append, whatever its outcome.
    const absent = this.knownAbsent;
    this.knownAbsent = new Map();
    this.appendInTransaction(appends, absent);
    // The commit above is durable. The index file follows; if writing it fails, the next lookup
    // first re-indexes from the main file, so de-duplication never misses a committed id.
    try {
      this.writeIndex(appends, absent);
    } catch {
      this.indexStale = true;
    }
  }

  private appendInTransaction(appends: readonly LogAppend[], knownAbsent: Map<number, Map<string, number>>): void {
    this.main
      .transaction(() => {
        for (const append of appends) {
          const pk = this.pk(append.projectId);
          const size = this.stmt.treeSize.get(pk)!.tree_size;
          if (size !== append.fromSize) throw new TreeSizeMismatchError(append.projectId, append.fromSize, size);
          // Each id once in the batch, and none stored: the lookup is for the ids not known absent.
          const ids = new Set<string>();
          const absent = knownAbsent.get(pk);
          const unknown: string[] = [];
          for (const { eventId } of append.entries) {
            if (ids.has(eventId)) throw new DuplicateEventIdError(append.projectId);
            ids.add(eventId);
            if (!absent?.has(eventId)) unknown.push(eventId);
          }
          if (unknown.length > 0 && this.lookup(pk, unknown).found.size > 0) throw new DuplicateEventIdError(append.projectId);
          const newSize = append.fromSize + append.entries.length;
          if (newSize > SQLITE_MAX_ENTRIES) throw new Error(`project ${append.projectId} would pass ${SQLITE_MAX_ENTRIES} entries`);
          for (let i = 0; i < append.entries.length; i++) this.stmt.insertEntry.run(entryKey(pk, append.fromSize + i), append.entries[i]!.envelope);
          for (const tile of append.tiles) this.stmt.putTile.run(pk, tile.level, tile.index, tile.hashes, tile.summary ?? null);
          this.stmt.setTreeSize.run(newSize, pk);
        }
      })
      .immediate();
  }

  async findByEventIds(projectId: string, eventIds: readonly string[]): Promise<Map<string, StoredEntry>> {
    this.check();
    if (this.indexStale) this.catchUpIndex();
    if (eventIds.length === 0) return new Map();
    const pk = this.pk(projectId);
    const { found, hashes } = this.lookup(pk, eventIds);
    const absent = this.knownAbsent.get(pk) ?? new Map<string, number>();
    this.knownAbsent.set(pk, absent);
    for (const [eventId, hash] of hashes) if (!found.has(eventId) && absent.size < MAX_KNOWN_ABSENT) absent.set(eventId, hash);
    return found;
  }

  /**
   * The stored entries of these event ids, through the index file (which must be caught up), and
   * each id's hash. One statement for them all: the B-tree probes run inside SQLite, not one call each.
   */
  private lookup(pk: number, eventIds: Iterable<string>): { found: Map<string, StoredEntry>; hashes: Map<string, number> } {
    const hashes = new Map<string, number>();
    for (const eventId of eventIds) if (!hashes.has(eventId)) hashes.set(eventId, idHash(eventId));
    const found = new Map<string, StoredEntry>();
    for (const { id_hash, idx } of this.lookupIds.all(pk, JSON.stringify([...hashes.values()]))) {
      const row = this.stmt.entry.get(entryKey(pk, idx));
      if (!row?.envelope) continue;
      // A shared hash is not a match: the stored envelope must carry this very id.
      const stored = parseEnvelope(row.envelope).eventId;
      if (hashes.get(stored) === id_hash && !found.has(stored)) found.set(stored, { index: idx, envelope: row.envelope });
    }
    return { found, hashes };
  }

  async readEntries(projectId: string, start: number, end: number): Promise<StoredEntry[]> {
    this.check();
    const pk = this.pk(projectId);
    return this.stmt.entries.all(entryKey(pk, start), entryKey(pk, end)).map((row) => ({ index: row.key - pk * INDEX_BITS, envelope: row.envelope }));
  }

  async hashEntries(projectId: string, start: number, end: number): Promise<StoredLeafHash[]> {
    // In process, reading the bytes costs no more than hashing them here (log/hashing.ts leafHash).
    return (await this.readEntries(projectId, start, end)).map((entry) => ({
      index: entry.index,
      leafHash: entry.envelope ? hash('sha256', Buffer.concat([LEAF_PREFIX, entry.envelope]), 'buffer') : null,
    }));
  }

  async searchIndexSize(projectId: string): Promise<number> {
    this.check();
    return this.searchIndex?.size(this.pk(projectId)) ?? 0;
  }

  async indexForSearch(projectId: string, fromIndex: number, documents: readonly SearchDocument[]): Promise<boolean> {
    this.check();
    if (!this.owner && !this.config.searchWriter) throw new Error('a read-only SQLite store cannot index for search');
    return this.searchIndex!.index(this.pk(projectId), fromIndex, documents);
  }

  async searchBacklog(): Promise<Array<{ projectId: string; treeSize: number; searchIndexSize: number }>> {
    this.check();
    // The sizes live in two files (the log's and the search index's), so they are joined here.
    return this.stmt.projects
      .all()
      .map((row) => ({ projectId: row.id, treeSize: row.tree_size, searchIndexSize: this.searchIndex?.size(row.pk) ?? 0 }))
      .filter((log) => log.treeSize > log.searchIndexSize);
  }

  async searchEntries(projectId: string, query: SearchQuery): Promise<SearchHit[]> {
    this.check();
    if (!this.searchIndex) return [];
    const pk = this.pk(projectId);
    const base = entryKey(pk, 0);
    const hits: SearchHit[] = [];
    for (const { key, time } of this.searchIndex.search(pk, query)) {
      const envelope = this.stmt.entry.get(key)?.envelope;
      if (envelope) hits.push({ index: key - base, time, envelope });
    }
    return hits;
  }

  async searchIndexRange(projectId: string, fromTime?: number, toTime?: number): Promise<{ searchIndexSize: number; first?: number; last?: number }> {
    this.check();
    if (!this.searchIndex) return { searchIndexSize: 0 };
    const pk = this.pk(projectId);
    const size = this.searchIndex.size(pk);
    const { first, last } = this.searchIndex.range(pk, size, fromTime, toTime);
    const base = entryKey(pk, 0);
    return first === undefined || last === undefined ? { searchIndexSize: size } : { searchIndexSize: size, first: first - base, last: last - base };
  }

  async readTiles(projectId: string, tiles: readonly TileRef[]): Promise<Array<Buffer | undefined>> {
    this.check();
    const pk = this.pk(projectId);
    return tiles.map((tile) => this.stmt.tile.get(pk, tile.level, tile.index)?.hashes);
  }

  async readTilesWithSummaries(projectId: string, tiles: readonly TileRef[]): Promise<Array<StoredTile | undefined>> {
    this.check();
    const pk = this.pk(projectId);
    return tiles.map((tile) => {
      const row = this.stmt.tileWithSummary.get(pk, tile.level, tile.index);
      return row && { hashes: row.hashes, summary: row.summary ?? undefined };
    });
  }

  async putCheckpoint(checkpoint: CheckpointRecord): Promise<boolean> {
    this.check();
    const pk = this.pk(checkpoint.projectId);
    const row = { pk, size: checkpoint.treeSize, root: checkpoint.rootHash, note: checkpoint.note, at: checkpoint.createdAt };
    return this.stmt.putCheckpoint.run(row).changes === 1;
  }

  async latestCheckpoint(projectId: string): Promise<CheckpointRecord | undefined> {
    this.check();
    const row = this.stmt.latestCheckpoint.get(this.pk(projectId));
    return row && checkpointFromRow(projectId, row);
  }

  async checkpointAt(projectId: string, treeSize: number): Promise<CheckpointRecord | undefined> {
    this.check();
    const row = this.stmt.checkpointAt.get(this.pk(projectId), treeSize);
    return row && checkpointFromRow(projectId, row);
  }

  async getSetting<T>(projectId: string, name: string): Promise<SettingRecord<T> | undefined> {
    this.check();
    const row = this.stmt.setting.get(this.pk(projectId), name);
    return row && settingFromRow<T>(projectId, row);
  }

  async putSetting<T>(projectId: string, name: string, value: T, options: { ifVersion?: number; at?: string } = {}): Promise<SettingRecord<T>> {
    this.check();
    const pk = this.pk(projectId);
    return this.main
      .transaction(() => {
        const current = this.stmt.setting.get(pk, name)?.version ?? 0;
        if (options.ifVersion !== undefined && options.ifVersion !== current) throw new VersionMismatchError(current);
        const record: SettingRecord<T> = { projectId, name, value, version: current + 1, updatedAt: options.at ?? new Date().toISOString() };
        this.stmt.insertSetting.run(pk, name, record.version, JSON.stringify(value), record.updatedAt);
        return record;
      })
      .immediate();
  }

  async settingHistory<T>(projectId: string, name: string): Promise<Array<SettingRecord<T>>> {
    this.check();
    return this.stmt.settingHistory.all(this.pk(projectId), name).map((row) => settingFromRow<T>(projectId, row));
  }

  async listSettings<T>(projectId: string, namePrefix: string): Promise<Array<SettingRecord<T>>> {
    this.check();
    return this.stmt.listSettings.all({ pk: this.pk(projectId), prefix: namePrefix }).map((row) => settingFromRow<T>(projectId, row));
  }

  async getCursor(projectId: string, destinationId: string): Promise<CursorRecord | undefined> {
    this.check();
    const row = this.stmt.cursor.get(this.pk(projectId), destinationId);
    return row && cursorFromRow(projectId, destinationId, row);
  }

  async setCursor(projectId: string, destinationId: string, nextIndex: number, at: string, status?: string): Promise<void> {
    this.check();
    this.stmt.setCursor.run(this.pk(projectId), destinationId, nextIndex, at, status ?? null);
  }

  async takeLease(name: string, holder: string, ms: number): Promise<boolean> {
    this.check();
    const now = Date.now();
    const lease = this.leases.get(name);
    if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
    this.leases.set(name, { holder, expiresAt: now + ms });
    return true;
  }

  async dropLease(name: string, holder: string): Promise<void> {
    this.check();
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }
}
