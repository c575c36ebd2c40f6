/**
 * The server-grade engine: PostgreSQL through node-postgres (`pg`), shared by several Veritrail
 * nodes at once (`concurrentWriters`). postgres-sequencer-lock.ts says how each log keeps one
 * sequencer; this file is the SQL of the storage contract (store.ts).
 *
 * Every commit is durable when PostgreSQL acknowledges it (synchronous_commit stays on; a
 * database that turns it off breaks the receipt promise, see the README). Reads take their own
 * snapshot per statement (READ COMMITTED), which is what the contract asks: every read reflects
 * every append that has resolved, on any node. Nothing is cached across calls except the
 * project id -> pk map, and pks never change.
 */
import os from 'node:os';
import pg from 'pg';
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
import { DEFAULT_POSTGRES_POOL_SIZE, describePostgresUrl, sessionOptions, type PostgresConfig } from './postgres-config.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';
import { INSERT_SEARCH_ACTORS_SQL, INSERT_SEARCH_EVENTS_SQL, SEARCH_RANGE_SQL, searchRangeParams, searchRows, searchStatement } from './postgres-search.ts';
import { CHECKPOINT_NAMESPACE, PgSequencerLock, SEARCH_CHUNK_NAMESPACE, withMigrationLock } from './postgres-sequencer-lock.ts';
import { appendStatement, SIZE_MOVED_SQLSTATE, type SqlStatement } from './postgres-append.ts';
import { asUnavailable } from './postgres-errors.ts';

const INT8_OID = 20;
/** The second key of a search chunk boundary's lock: a hash, since a collision only makes a call wait. */
function searchChunkKey(pk: number, index: number): number {
  return (Math.imul(pk, 0x9e3779b1) ^ (index % 0x100000000)) | 0;
}
/** Thrown inside indexForSearch's transaction to roll it back when the size moved. */
const SIZE_MOVED = Symbol('search index size moved');

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** bigint columns (sizes and indexes, all far below 2^53) come back as numbers, not strings. */
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}

/** The project pk of a unique violation's key, from its detail: `Key (project_pk, event_id)=(3, …) already exists.` */
function conflictingPk(error: unknown): number | undefined {
  const match = /^Key \(project_pk, [a-z_]+\)=\((\d+),/.exec((error as { detail?: string }).detail ?? '');
  return match ? Number(match[1]) : undefined;
}

export class PgStore implements Store {
  readonly capabilities: StoreCapabilities = { engine: 'postgres', concurrentWriters: true, searchWritesInServer: true, appendFindsStoredIds: true };

  /** Project id -> pk. Projects are never renumbered or deleted, so entries never go stale. */
  private readonly pks = new Map<string, number>();
  /** Appends in flight, so that close() waits for them (store.ts). */
  private readonly appending = new Set<Promise<void>>();
  /** Per project id: resolves once the latest indexForSearch call has taken its chunk's lock. */
  private readonly searchChunkStarts = new Map<string, Promise<void>>();
  /** SQL text -> prepared statement name (see query()). */
  private readonly statementNames = new Map<string, string>();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly sequencerLock: PgSequencerLock,
  ) {}

  /** Connects, and migrates the schema unless `readOnly`. */
  static async open(config: PostgresConfig): Promise<PgStore> {
    // The name shows in pg_stat_activity which node (host and pid) each session belongs to.
    const applicationName = `veritrail ${os.hostname()} ${process.pid}`.slice(0, 63);
    const connection: pg.ClientConfig = { connectionString: config.url, options: sessionOptions(config), application_name: applicationName, keepAlive: true, types };
    const pool = new pg.Pool({ ...connection, max: config.poolSize ?? DEFAULT_POSTGRES_POOL_SIZE });
    // A pooled connection that dies while idle reports here; the pool drops it and opens another.
    pool.on('error', () => {});
    // One that dies while checked out (PostgreSQL restarting, a session terminated) emits
    // 'error' on the client, which the pool listens for only while it is idle: unheard, that
    // error would end the process. The query in flight fails with it anyway, and a client
    // that lost its connection is never pooled again.
    pool.on('connect', (client) => client.on('error', () => {}));
    const sequencerLock = new PgSequencerLock(async () => {
      // Pipeline mode: the append and its COMMIT go out together (postgres-sequencer-lock.ts).
      const client = new pg.Client({ ...connection, pipeline: true });
      await client.connect();
      return client;
    });
    const store = new PgStore(pool, sequencerLock);
    try {
      await store.migrate(config.readOnly ?? false);
    } catch (error) {
      await store.close();
      throw new Error(`couldn't open the PostgreSQL store at ${describePostgresUrl(config.url)}: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  private async migrate(readOnly: boolean): Promise<void> {
    checkMigrations(POSTGRES_MIGRATIONS);
    const client = await this.pool.connect();
    try {
      // Two statements: one naming a missing table fails to parse, whatever a CASE around it says.
      const current = async () => {
        const exists = (await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations') AS t`)).rows[0]!.t !== null;
        return exists ? (await client.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0]!.v : 0;
      };
      if (readOnly) {
        if (pendingMigrations(POSTGRES_MIGRATIONS, await current(), 'PostgreSQL').length > 0) throw new Error('the store needs migrations; start a node on it once before reading it');
        return;
      }
      // Under the lock, a node that starts while another migrates waits, then finds nothing to do.
      await withMigrationLock(client, async () => {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)');
        for (const migration of pendingMigrations(POSTGRES_MIGRATIONS, await current(), 'PostgreSQL')) {
          await inTransaction(client, async () => {
            for (const sql of migration.statements) await client.query(sql);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, new Date().toISOString()]);
          });
        }
      });
    } finally {
      client.release();
    }
  }

  private check(): void {
    if (this.closed) throw new Error('the PostgreSQL store is closed');
  }

  /**
   * Runs one statement on any pooled connection. Each fixed SQL text becomes a named prepared
   * statement, parsed and planned once per connection: proofs and lookups are many small reads.
   */
  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], options: { prepare?: boolean } = {}): Promise<pg.QueryResult<R>> {
    this.check();
    try {
      if (options.prepare === false) return await this.pool.query<R>(sql, params);
      let name = this.statementNames.get(sql);
      if (name === undefined) this.statementNames.set(sql, (name = `veritrail_${this.statementNames.size}`));
      return await this.pool.query<R>({ name, text: sql, values: params });
    } catch (error) {
      throw asUnavailable(error);
    }
  }

  /**
   * One statement on a pooled connection, outside any transaction block (it commits by itself).
   * Unlike pool.query, a statement PostgreSQL refuses (a size check, a unique index) leaves the
   * connection pooled; only one that failed otherwise (a lost connection) is dropped.
   */
  private async statement(statement: { name?: string; text: string; values: unknown[] }): Promise<void> {
    this.check();
    const client = await this.pool.connect().catch((error: unknown) => Promise.reject(asUnavailable(error)));
    let broken: Error | undefined;
    try {
      await client.query(statement);
    } catch (error) {
      // A refusal leaves the session as it was; a session PostgreSQL ended (a FATAL error comes
      // before the socket closes) must not go back to the pool.
      const unavailable = asUnavailable(error);
      if (!(error instanceof pg.DatabaseError) || unavailable !== error) broken = error as Error;
      throw unavailable;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `fn` in one transaction on one pooled connection: committed whole, or rolled back.
   * With `begins`, `fn` sends BEGIN itself (with its first statements, saving a round trip).
   */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>, options: { begins?: boolean } = {}): Promise<T> {
    this.check();
    const client = await this.pool.connect().catch((error: unknown) => Promise.reject(asUnavailable(error)));
    // A connection whose ROLLBACK failed may be dead or still in the transaction: never pooled
    // again. One that rolled back (a size mismatch, a duplicate id) goes back, with its prepared
    // statements; the pool itself drops one that lost its connection.
    let broken: Error | undefined;
    try {
      return await inTransaction(client, () => fn(client), options.begins ?? false, (error) => (broken = error));
    } catch (error) {
      throw asUnavailable(error);
    } finally {
      client.release(broken);
    }
  }

  /** The pk of a project id; throws for an unknown one (callers check existence first). */
  private async pk(projectId: string): Promise<number> {
    let pk = this.pks.get(projectId);
    if (pk === undefined) {
      pk = (await this.query<{ pk: number }>('SELECT pk FROM projects WHERE id = $1', [projectId])).rows[0]?.pk;
      if (pk === undefined) throw new Error(`no project ${projectId} in the PostgreSQL store`);
      this.pks.set(projectId, pk);
    }
    return pk;
  }

  // --- Store -------------------------------------------------------------------------------

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.appending);
    await this.sequencerLock.close();
    await this.pool.end();
  }

  async createProject(project: ProjectRecord): Promise<void> {
    try {
      await this.query('INSERT INTO projects (id, name, created_at, log_origin, system) VALUES ($1, $2, $3, $4, $5)', [project.id, project.name, project.createdAt, project.logOrigin, project.system]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AlreadyExistsError(`project ${project.id} exists`);
      throw error;
    }
  }

  async getProject(id: string): Promise<ProjectRecord | undefined> {
    const row = (await this.query<ProjectRow>('SELECT * FROM projects WHERE id = $1', [id])).rows[0];
    return row && projectFromRow(row);
  }

  async listProjects(options: { limit?: number } = {}): Promise<ProjectRecord[]> {
    // LIMIT NULL is no limit.
    return (await this.query<ProjectRow>('SELECT * FROM projects ORDER BY pk LIMIT $1', [options.limit ?? null])).rows.map(projectFromRow);
  }

  async createKey(key: KeyRecord): Promise<void> {
    const pk = key.projectId === null ? null : await this.pk(key.projectId);
    try {
      await this.query('INSERT INTO keys (id, project_pk, role, description, created_at, secret_hash, type, digest_ha1_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        key.id,
        pk,
        key.role,
        key.description,
        key.createdAt,
        key.secretHash,
        key.type ?? 'native',
        key.digestHa1Sealed ?? null,
      ]);
    } catch (error) {
      if (isUniqueViolation(error)) throw new AlreadyExistsError(`key ${key.id} exists`);
      throw error;
    }
  }

  async findKeyBySecretHash(secretHash: string): Promise<KeyRecord | undefined> {
    // Read from the database every time: a key revoked through any node fails at once.
    const row = (
      await this.query<KeyRow>('SELECT k.*, p.id AS project_id FROM keys k LEFT JOIN projects p ON p.pk = k.project_pk WHERE k.secret_hash = $1 AND k.revoked_at IS NULL', [secretHash])
    ).rows[0];
    return row && keyFromRow(row);
  }

  async findKeyById(keyId: string): Promise<KeyRecord | undefined> {
    const row = (await this.query<KeyRow>('SELECT k.*, p.id AS project_id FROM keys k LEFT JOIN projects p ON p.pk = k.project_pk WHERE k.id = $1 AND k.revoked_at IS NULL', [keyId])).rows[0];
    return row && keyFromRow(row);
  }

  async listKeys(projectId: string | null): Promise<KeyRecord[]> {
    const { rows } =
      projectId === null
        ? await this.query<KeyRow>('SELECT k.*, NULL AS project_id FROM keys k WHERE k.project_pk IS NULL AND k.revoked_at IS NULL ORDER BY k.created_at, k.id')
        : await this.query<KeyRow>('SELECT k.*, $2::text AS project_id FROM keys k WHERE k.project_pk = $1 AND k.revoked_at IS NULL ORDER BY k.created_at, k.id', [await this.pk(projectId), projectId]);
    return rows.map(keyFromRow);
  }

  async revokeKey(projectId: string | null, keyId: string): Promise<boolean> {
    const pk = projectId === null ? null : await this.pk(projectId);
    const result = await this.query('UPDATE keys SET revoked_at = $1 WHERE id = $2 AND project_pk IS NOT DISTINCT FROM $3 AND revoked_at IS NULL', [new Date().toISOString(), keyId, pk]);
    return result.rowCount === 1;
  }

  async touchKey(keyId: string, at: string): Promise<void> {
    await this.query('UPDATE keys SET last_used_at = $1 WHERE id = $2', [at, keyId]);
  }

  async recordDigestNonceUse(nonce: string, nc: number, issuedSec: number, forgetBeforeSec: number): Promise<boolean> {
    // The nonce in use is never among the forgotten (it would have been refused as stale), so
    // the DELETE and the upsert never touch the same row.
    const { rowCount } = await this.query(
      `WITH forgotten AS (DELETE FROM digest_nonce_uses WHERE issued_sec < $4)
       INSERT INTO digest_nonce_uses (nonce, nc, issued_sec) VALUES ($1, $2, $3)
       ON CONFLICT (nonce) DO UPDATE SET nc = excluded.nc WHERE digest_nonce_uses.nc < excluded.nc`,
      [nonce, nc, issuedSec, forgetBeforeSec],
    );
    return rowCount === 1;
  }

  async revokeAccessToken(tokenId: string, expiresSec: number, bound: { nowSec: number; max: number }): Promise<{ listed: true } | { listed: false; firstExpirySec: number }> {
    return this.transaction(async (client) => {
      await client.query('DELETE FROM revoked_access_tokens WHERE expires_sec <= $1', [bound.nowSec]);
      const listed = (await client.query<{ count: number; first: number | null }>('SELECT count(*)::integer AS count, min(expires_sec) AS first FROM revoked_access_tokens')).rows[0]!;
      if (listed.count >= bound.max) return { listed: false as const, firstExpirySec: listed.first! };
      await client.query('INSERT INTO revoked_access_tokens (token_id, expires_sec) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tokenId, expiresSec]);
      return { listed: true as const };
    });
  }

  async isAccessTokenRevoked(tokenId: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM revoked_access_tokens WHERE token_id = $1', [tokenId])).rowCount === 1;
  }

  async treeSize(projectId: string): Promise<number> {
    return (await this.query<{ tree_size: number }>('SELECT tree_size FROM projects WHERE pk = $1', [await this.pk(projectId)])).rows[0]?.tree_size ?? 0;
  }

  async lockLogs(projectIds: readonly string[], knownSizes?: ReadonlyMap<string, number>): Promise<LogLock> {
    this.check();
    const pks = await Promise.all(projectIds.map((p) => this.pk(p)));
    const { lock, sizes, edgeTiles } = await this.sequencerLock.acquire(pks, projectIds.map((p) => knownSizes?.get(p) ?? -1));
    return {
      sizes: new Map(projectIds.map((projectId, i) => [projectId, sizes.get(pks[i]!) ?? 0])),
      edgeTiles: new Map(projectIds.map((projectId, i) => [projectId, edgeTiles.get(pks[i]!)!])),
      append: async (appends) => {
        try {
          this.check();
          if (appends.length > 0) await this.appendWith(appends, (statement) => lock.commit(statement));
        } finally {
          await lock.release(); // nothing to do once the commit ended the hold; else ends it
        }
      },
      release: () => lock.release(),
    };
  }

  async append(appends: LogAppend[]): Promise<void> {
    if (appends.length === 0) return;
    await this.appendWith(appends, (statement) => this.statement(statement));
  }

  /** The append statement for `appends`, run by `run` (it commits by itself); refusals mapped. */
  private async appendWith(appends: LogAppend[], run: (statement: SqlStatement) => Promise<unknown>): Promise<void> {
    const pks = await Promise.all(appends.map((a) => this.pk(a.projectId)));
    const statement = appendStatement(pks, appends);
    const work = (async () => {
      try {
        await run(statement);
      } catch (error) {
        throw await this.appendRefusal(error, pks, appends);
      }
    })();
    this.appending.add(work);
    try {
      await work;
    } finally {
      this.appending.delete(work);
    }
  }

  /**
   * What a failed append statement means (nothing of it was written): a log not at its
   * fromSize (TreeSizeMismatchError, its size read again), an event id or index another node
   * stored first, or `error` itself.
   */
  private async appendRefusal(error: unknown, pks: readonly number[], appends: readonly LogAppend[]): Promise<unknown> {
    const projectOf = (pk: number | undefined) => appends[Math.max(0, pks.indexOf(pk ?? -1))]!.projectId;
    if (isUniqueViolation(error, 'entries_event_id')) return new DuplicateEventIdError(projectOf(conflictingPk(error)));
    const sizeMoved = (error as { code?: string }).code === SIZE_MOVED_SQLSTATE;
    // An index already taken means another node appended there: the log moved under us.
    if (!sizeMoved && !isUniqueViolation(error, 'entries_pkey')) return error;
    const sizes = new Map((await this.query<{ pk: number; tree_size: number }>('SELECT pk, tree_size FROM projects WHERE pk = ANY($1::integer[])', [[...pks]])).rows.map((r) => [r.pk, r.tree_size]));
    const i = Math.max(0, appends.findIndex((append, j) => sizes.get(pks[j]!) !== append.fromSize));
    return new TreeSizeMismatchError(appends[i]!.projectId, appends[i]!.fromSize, sizes.get(pks[i]!) ?? 0);
  }

  async findByEventIds(projectId: string, eventIds: readonly string[]): Promise<Map<string, StoredEntry>> {
    const found = new Map<string, StoredEntry>();
    if (eventIds.length === 0) return found;
    const { rows } = await this.query<{ idx: number; event_id: string; envelope: Buffer | null }>(
      'SELECT idx, event_id, envelope FROM entries WHERE project_pk = $1 AND event_id = ANY($2::text[])',
      [await this.pk(projectId), [...new Set(eventIds)]],
    );
    for (const row of rows) if (row.envelope) found.set(row.event_id, { index: row.idx, envelope: row.envelope });
    return found;
  }

  async readEntries(projectId: string, start: number, end: number): Promise<StoredEntry[]> {
    const { rows } = await this.query<{ idx: number; envelope: Buffer }>('SELECT idx, envelope FROM entries WHERE project_pk = $1 AND idx >= $2 AND idx < $3 ORDER BY idx', [
      await this.pk(projectId),
      start,
      end,
    ]);
    return rows.map((row) => ({ index: row.idx, envelope: row.envelope }));
  }

  async hashEntries(projectId: string, start: number, end: number): Promise<StoredLeafHash[]> {
    // PostgreSQL's sha256 over the 0x00 leaf prefix and the stored bytes: 32 bytes per entry come
    // back, not the entry (sent as hex text, twice its size). Verifying before each checkpoint
    // read every entry back this way and cost a tenth of batched ingest.
    const { rows } = await this.query<{ idx: number; leaf_hash: Buffer | null }>(
      `SELECT idx, sha256(decode('00', 'hex') || envelope) AS leaf_hash FROM entries WHERE project_pk = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [await this.pk(projectId), start, end],
    );
    return rows.map((row) => ({ index: row.idx, leafHash: row.leaf_hash }));
  }

  async readTiles(projectId: string, tiles: readonly TileRef[]): Promise<Array<Buffer | undefined>> {
    return (await this.tileRows(projectId, tiles, false)).map((tile) => tile?.hashes);
  }

  async readTilesWithSummaries(projectId: string, tiles: readonly TileRef[]): Promise<Array<StoredTile | undefined>> {
    return this.tileRows(projectId, tiles, true);
  }

  /** Stored tiles in the order asked, with their summaries if `withSummaries` (else none is read: readTiles skips the bytes). */
  private async tileRows(projectId: string, tiles: readonly TileRef[], withSummaries: boolean): Promise<Array<StoredTile | undefined>> {
    if (tiles.length === 0) return [];
    const { rows } = await this.query<{ level: number; idx: number; hashes: Buffer; summary: Buffer | null }>(
      `SELECT t.level, t.idx, t.hashes, ${withSummaries ? 't.summary' : 'NULL'} AS summary FROM unnest($2::smallint[], $3::bigint[]) AS r(level, idx) JOIN tiles t ON t.project_pk = $1 AND t.level = r.level AND t.idx = r.idx`,
      [await this.pk(projectId), tiles.map((t) => t.level), tiles.map((t) => t.index)],
    );
    const byKey = new Map(rows.map((row) => [`${row.level}/${row.idx}`, { hashes: row.hashes, summary: row.summary ?? undefined }]));
    return tiles.map((t) => byKey.get(`${t.level}/${t.index}`));
  }

  async putCheckpoint(checkpoint: CheckpointRecord): Promise<boolean> {
    const pk = await this.pk(checkpoint.projectId);
    return this.transaction(async (client) => {
      // Nodes sign concurrently; the lock makes "only if larger than every stored one" exact.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [CHECKPOINT_NAMESPACE, pk]);
      const result = await client.query(
        `INSERT INTO checkpoints (project_pk, tree_size, root_hash, note, created_at)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM checkpoints WHERE project_pk = $1 AND tree_size >= $2)`,
        [pk, checkpoint.treeSize, checkpoint.rootHash, checkpoint.note, checkpoint.createdAt],
      );
      return result.rowCount === 1;
    });
  }

  async latestCheckpoint(projectId: string): Promise<CheckpointRecord | undefined> {
    const row = (await this.query<CheckpointRow>('SELECT * FROM checkpoints WHERE project_pk = $1 ORDER BY tree_size DESC LIMIT 1', [await this.pk(projectId)])).rows[0];
    return row && checkpointFromRow(projectId, row);
  }

  async checkpointAt(projectId: string, treeSize: number): Promise<CheckpointRecord | undefined> {
    const row = (await this.query<CheckpointRow>('SELECT * FROM checkpoints WHERE project_pk = $1 AND tree_size = $2', [await this.pk(projectId), treeSize])).rows[0];
    return row && checkpointFromRow(projectId, row);
  }

  async getSetting<T>(projectId: string, name: string): Promise<SettingRecord<T> | undefined> {
    const row = (await this.query<SettingRow>('SELECT * FROM settings WHERE project_pk = $1 AND name = $2 ORDER BY version DESC LIMIT 1', [await this.pk(projectId), name])).rows[0];
    return row && settingFromRow<T>(projectId, row);
  }

  async putSetting<T>(projectId: string, name: string, value: T, options: { ifVersion?: number; at?: string } = {}): Promise<SettingRecord<T>> {
    const pk = await this.pk(projectId);
    const current = async () => (await this.getSetting(projectId, name))?.version ?? 0;
    // The primary key (project, name, version) picks one winner among concurrent writers of the
    // same next version, on any node; a loser with ifVersion has lost, one without tries again.
    for (;;) {
      const version = await current();
      if (options.ifVersion !== undefined && options.ifVersion !== version) throw new VersionMismatchError(version);
      const record: SettingRecord<T> = { projectId, name, value, version: version + 1, updatedAt: options.at ?? new Date().toISOString() };
      try {
        await this.query('INSERT INTO settings (project_pk, name, version, value, updated_at) VALUES ($1, $2, $3, $4, $5)', [pk, name, record.version, JSON.stringify(value), record.updatedAt]);
        return record;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (options.ifVersion !== undefined) throw new VersionMismatchError(await current());
      }
    }
  }

  async settingHistory<T>(projectId: string, name: string): Promise<Array<SettingRecord<T>>> {
    const { rows } = await this.query<SettingRow>('SELECT * FROM settings WHERE project_pk = $1 AND name = $2 ORDER BY version', [await this.pk(projectId), name]);
    return rows.map((row) => settingFromRow<T>(projectId, row));
  }

  async listSettings<T>(projectId: string, namePrefix: string): Promise<Array<SettingRecord<T>>> {
    // starts_with, not LIKE: a prefix holding % or _ matches literally. Names order as bytes
    // (COLLATE "C"), as SQLite orders them, whatever the database's collation.
    const { rows } = await this.query<SettingRow>(
      'SELECT DISTINCT ON (name COLLATE "C") * FROM settings WHERE project_pk = $1 AND starts_with(name, $2) ORDER BY name COLLATE "C", version DESC',
      [await this.pk(projectId), namePrefix],
    );
    return rows.map((row) => settingFromRow<T>(projectId, row));
  }

  async getCursor(projectId: string, destinationId: string): Promise<CursorRecord | undefined> {
    const row = (
      await this.query<CursorRow>('SELECT next_index, updated_at, status FROM forward_cursors WHERE project_pk = $1 AND destination_id = $2', [await this.pk(projectId), destinationId])
    ).rows[0];
    return row && cursorFromRow(projectId, destinationId, row);
  }

  async setCursor(projectId: string, destinationId: string, nextIndex: number, at: string, status?: string): Promise<void> {
    await this.query(
      `INSERT INTO forward_cursors (project_pk, destination_id, next_index, updated_at, status) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (project_pk, destination_id) DO UPDATE SET next_index = excluded.next_index, updated_at = excluded.updated_at, status = excluded.status`,
      [await this.pk(projectId), destinationId, nextIndex, at, status ?? null],
    );
  }

  async takeLease(name: string, holder: string, ms: number): Promise<boolean> {
    // The database's clock decides, so the nodes' clocks need not agree. One statement: of two
    // nodes taking a free lease at once, the second finds the first's row and is refused.
    const result = await this.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, clock_timestamp() + $3::float8 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()`,
      [name, holder, ms],
    );
    return result.rowCount === 1;
  }

  async dropLease(name: string, holder: string): Promise<void> {
    await this.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  // --- search (postgres-search.ts) ----------------------------------------------------------

  async searchIndexSize(projectId: string): Promise<number> {
    return (await this.query<{ size: number }>('SELECT size FROM search_indexed WHERE project_pk = $1', [await this.pk(projectId)])).rows[0]?.size ?? 0;
  }

  async indexForSearch(projectId: string, fromIndex: number, documents: readonly SearchDocument[]): Promise<boolean> {
    const end = fromIndex + documents.length;
    // Calls for consecutive chunks of one log may overlap, so that their rows are written by
    // several backends at once (GIN insertion is most of the cost). Each call first takes the
    // advisory lock of its own end, in call order (`searchChunkStarts`); then writes its rows;
    // then waits for the lock of its start, which the chunk before it holds until it commits or
    // rolls back. So chunks land in index order, and the size still moves only from fromIndex.
    // Registered before any await, so that call order is the order of the chain. Should two
    // nodes index one log at once (a search lease overrun), their chunks' rows may wait on each
    // other's and PostgreSQL breaks the deadlock: the loser fails, and its indexer retries.
    const previous = this.searchChunkStarts.get(projectId);
    let started!: () => void;
    const start = new Promise<void>((resolve) => (started = resolve));
    this.searchChunkStarts.set(projectId, start);
    try {
      const pk = await this.pk(projectId);
      const { events, actors } = searchRows(pk, documents);
      await previous;
      return await this.transaction(
        async (client) => {
          try {
            await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${SEARCH_CHUNK_NAMESPACE}, ${searchChunkKey(pk, end)})`);
          } finally {
            started();
          }
          // Rows past the size are never read (searches stop at it); a row another indexer wrote
          // is the same row, and is skipped.
          if (documents.length > 0) {
            await client.query(INSERT_SEARCH_EVENTS_SQL, [pk, events.idx, events.time, events.name, events.source, events.ip, events.outcome, events.words, events.longWords]);
            if (actors.actor.length > 0) await client.query(INSERT_SEARCH_ACTORS_SQL, [pk, actors.actor, actors.time, actors.idx]);
          }
          await client.query(`SELECT pg_advisory_xact_lock(${SEARCH_CHUNK_NAMESPACE}, ${searchChunkKey(pk, fromIndex)})`);
          // The size row, locked: of two nodes indexing the same chunk, the second waits here and
          // then finds the size moved, writing nothing (store.ts: one resolves true).
          await client.query('INSERT INTO search_indexed (project_pk, size) VALUES ($1, 0) ON CONFLICT DO NOTHING', [pk]);
          const size = (await client.query<{ size: number }>('SELECT size FROM search_indexed WHERE project_pk = $1 FOR UPDATE', [pk])).rows[0]!.size;
          if (size !== fromIndex) throw SIZE_MOVED;
          await client.query('UPDATE search_indexed SET size = $2 WHERE project_pk = $1', [pk, end]);
          return true;
        },
        { begins: true },
      );
    } catch (error) {
      if (error === SIZE_MOVED) return false; // rolled back: nothing of this chunk stays
      throw error;
    } finally {
      started();
      if (this.searchChunkStarts.get(projectId) === start) this.searchChunkStarts.delete(projectId);
    }
  }

  async searchBacklog(): Promise<Array<{ projectId: string; treeSize: number; searchIndexSize: number }>> {
    const { rows } = await this.query<{ id: string; tree_size: number; size: number }>(
      'SELECT p.id, p.tree_size, coalesce(s.size, 0) AS size FROM projects p LEFT JOIN search_indexed s ON s.project_pk = p.pk WHERE p.tree_size > coalesce(s.size, 0) ORDER BY p.pk',
    );
    return rows.map((row) => ({ projectId: row.id, treeSize: row.tree_size, searchIndexSize: row.size }));
  }

  async searchEntries(projectId: string, query: SearchQuery): Promise<SearchHit[]> {
    const statement = searchStatement(await this.pk(projectId), query);
    if (!statement) return [];
    // Not prepared: a search's best plan depends on its values (how common a word, how wide a
    // range), and a prepared statement may settle on one generic plan for all of them.
    const { rows } = await this.query<{ idx: number; time: number; envelope: Buffer }>(statement.sql, statement.params, { prepare: false });
    return rows.map((row) => ({ index: row.idx, time: row.time, envelope: row.envelope }));
  }

  async searchIndexRange(projectId: string, fromTime?: number, toTime?: number): Promise<{ searchIndexSize: number; first?: number; last?: number }> {
    const row = (await this.query<{ size: number; first: number | null; last: number | null }>(SEARCH_RANGE_SQL, searchRangeParams(await this.pk(projectId), fromTime, toTime))).rows[0]!;
    return row.first === null || row.last === null ? { searchIndexSize: row.size } : { searchIndexSize: row.size, first: row.first, last: row.last };
  }
}

/**
 * BEGIN (unless `fn` sends it), `fn`, COMMIT; ROLLBACK (and rethrow) if anything fails before the
 * commit. Should the ROLLBACK fail too, `rollbackFailed` is told, and the first error rethrown.
 */
async function inTransaction<T>(client: pg.PoolClient, fn: () => Promise<T>, fnBegins = false, rollbackFailed: (error: Error) => void = () => {}): Promise<T> {
  try {
    if (!fnBegins) await client.query('BEGIN');
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(rollbackFailed);
    throw error;
  }
}

