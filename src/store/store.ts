/**
 * The storage contract every engine implements (store/sqlite, store/postgres), written the way
 * Sunlight writes `Backend`: for each method, whether it is durable on return, whether it is
 * atomic, which typed error it raises, and whether it may run concurrently with itself.
 *
 * Engines know SQL and nothing of HTTP or hashing. The log layer computes leaf hashes and tiles;
 * the store keeps them. Every method is async, so an engine may do its I/O anywhere (a driver,
 * a worker thread, another machine).
 *
 * Shared by every method: an engine MUST NOT return partially written state. A method that
 * rejects with anything other than the errors named here leaves the store unchanged unless its
 * JSDoc says "may have been applied".
 */
import type { KeyType } from '../core/key-types.ts';
import type { Role } from '../core/roles.ts';

/** A project row (spec/api.md "Projects and keys"). */
export interface ProjectRecord {
  /** 24 lowercase hex characters. */
  id: string;
  name: string;
  /** RFC 3339 with milliseconds. */
  createdAt: string;
  /** The checkpoint origin line; fixed when the project is created (spec/tlog.md §5). */
  logOrigin: string;
  /** True for the built-in project that holds organisation-wide self-audit records. */
  system: boolean;
}

/** A key row. The secret itself is never stored: only `secretHash`. */
export interface KeyRecord {
  id: string;
  /** The project the key belongs to; null for ORG_OWNER keys. */
  projectId: string | null;
  role: Role;
  description: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** Lowercase hex SHA-256 of the whole key string. */
  secretHash: string;
  /**
   * How else the key may authenticate (core/key-types.ts). Absent means `native`; engines MUST
   * store and return any other value, and MUST NOT add the field to a native key's record.
   */
  type?: KeyType;
  /**
   * For `atlas` keys only: the HTTP Digest HA1, `MD5(id ":" "MMS Public API" ":" key)`, sealed
   * by `SecretBox` (purpose `digest-ha1:<id>`). HA1 is password-equivalent for Digest, so it is
   * never stored in clear. Engines store the string as given and return it unchanged; absent
   * when the key has none.
   */
  digestHa1Sealed?: string;
}

/** One stored log entry: its index and the exact envelope bytes that were hashed. */
export interface StoredEntry {
  index: number;
  envelope: Buffer;
}

/** An entry's RFC 6962 leaf hash, as the store computed it from the bytes it holds. */
export interface StoredLeafHash {
  index: number;
  /** SHA-256(0x00 || the stored bytes); null for an entry whose payload is gone. */
  leafHash: Buffer | null;
}

/** One entry to append, already canonicalised and hashed by the log layer. */
export interface EntryToAppend {
  eventId: string;
  envelope: Buffer;
}

/** A tile to write: the whole content of tile (level, index) at the new tree size. */
export interface TileWrite {
  level: number;
  index: number;
  /** The concatenated 32-byte hashes; 1 to 256 of them. */
  hashes: Buffer;
  /** A full tile's summary (log/tile-summary.ts); none for a partial one. */
  summary?: Buffer;
}

/** A stored tile and its summary, if it was written with one. */
export interface StoredTile {
  hashes: Buffer;
  summary: Buffer | undefined;
}

/**
 * The append to one project's log inside one `append` call: `entries` take indexes
 * `fromSize, fromSize + 1, ...`, and `tiles` are the tiles that change.
 */
export interface LogAppend {
  projectId: string;
  fromSize: number;
  entries: EntryToAppend[];
  tiles: TileWrite[];
}

/** A signed checkpoint of one project's log. */
export interface CheckpointRecord {
  projectId: string;
  treeSize: number;
  rootHash: Buffer;
  /** The whole C2SP signed note, signature lines included. */
  note: string;
  createdAt: string;
}

/** A versioned configuration document (audit configuration, destinations, ...). */
export interface SettingRecord<T = unknown> {
  projectId: string;
  name: string;
  value: T;
  /** 1 for the first write, +1 on every write (the ETag of dialects that have one). */
  version: number;
  updatedAt: string;
}

/**
 * A forwarder's durable position in one project's log: every entry below `nextIndex` has been
 * delivered to the destination (src/forward/). Kept apart from settings because it changes after
 * every delivered batch and needs no history.
 */
export interface CursorRecord {
  projectId: string;
  destinationId: string;
  nextIndex: number;
  updatedAt: string;
  /**
   * How delivery went for the node that wrote the cursor last, as text the forwarder writes and
   * reads back (the store keeps it as given): what a node standing by reports.
   */
  status?: string;
}

export interface TileRef {
  level: number;
  index: number;
}

/**
 * The search fields of one entry. The search indexer (query/search-indexer.ts) derives them from
 * the entry's event (core/event-fields.ts), once, above every engine; an engine stores them as
 * given and never parses an envelope for search.
 */
export interface SearchDocument {
  index: number;
  /** Milliseconds since the epoch: the event's own time if it has one, else its receivedAt. */
  time: number;
  eventName: string | null;
  eventSource: string | null;
  sourceIp: string | null;
  /** Every actor name of the event; `actor` in a query matches any of them. */
  actors: string[];
  outcome: 'success' | 'failure' | null;
  /** The event's words for full-text search (core/event-fields.ts `eventText`). */
  text: string;
}

/** A place in search order: entries are ordered by (time, index). */
export interface SearchPosition {
  time: number;
  index: number;
}

/**
 * One page of a search. Every predicate given must hold (AND). String predicates are exact and
 * case-sensitive; text terms are not (see `terms`).
 */
export interface SearchQuery {
  /**
   * Only entries with index < `below`: the snapshot a paginated search reads, fixed by its first
   * page, so that events appended meanwhile can neither appear in later pages nor shift them.
   * At most `searchIndexSize`.
   */
  below: number;
  /** Entries with time >= fromTime (ms since the epoch). */
  fromTime?: number;
  /** Entries with time < toTime (ms since the epoch): [fromTime, toTime) is half-open. */
  toTime?: number;
  eventName?: string;
  eventSource?: string;
  /** Matches an entry any of whose actors equals it. */
  actor?: string;
  sourceIp?: string;
  outcome?: 'success' | 'failure';
  /**
   * Full-text terms; every term must match. A term matches when its words (runs of letters and
   * digits, compared without case or diacritics) occur one after another in the entry's text, so
   * `203.0.113.7` and `access denied` are phrases. A term ending in `*` also matches when its
   * last word is only the start of a word (`deni*` matches `denied`). Each term holds at least
   * one letter or digit (the query layer checks).
   */
  terms?: string[];
  /** By (time, index), ascending or descending. */
  order: 'asc' | 'desc';
  /** Start strictly after this place in `order` (the cursor of the previous page). */
  after?: SearchPosition;
  /** The most hits to return, 1 or more. */
  limit: number;
}

/** An entry found by a search, with its search time (for the next page's cursor). */
export interface SearchHit extends StoredEntry {
  time: number;
}

/**
 * What differs between engines, as documented flags (STYLE.md §4) rather than engine checks
 * scattered through the code.
 */
export interface StoreCapabilities {
  /** Engine name for logs and metrics: "sqlite" or "postgres". */
  readonly engine: string;
  /**
   * Several processes (Veritrail nodes) may append to one store at once; each log still has one
   * sequencer at a time, through `lockLogs`. When true, a sequencer MUST NOT trust a tree size
   * it remembers from its own last commit: another node may have appended since.
   */
  readonly concurrentWriters: boolean;
  /**
   * `indexForSearch` does its work in a database server's process (PostgreSQL), not in the
   * calling thread (SQLite): lowering the calling thread's priority does not lower that work's,
   * so the search indexer paces it instead (query/search-pacing.ts).
   */
  readonly searchWritesInServer: boolean;
  /**
   * `append` finds an event id already stored as it writes (a unique index it probes anyway),
   * where looking ids up first costs a round trip and a second probe of that index. A sequencer
   * may then leave the lookup out while a log shows no duplicates, and look up only after the
   * append refused one (sequencer.ts). False where `append` looks ids up itself (SQLite, for
   * ids the sequencer's lookup did not find absent): the lookup first costs nothing extra there.
   */
  readonly appendFindsStoredIds: boolean;
}

/** Held by `lockLogs` until it appends or is released. */
export interface LogLock {
  /**
   * Each locked log's size, read after the lock was taken, when the engine reads it as part of
   * locking (PostgreSQL: in the same round trip). The sequencer then needs no `treeSize` call.
   */
  sizes?: ReadonlyMap<string, number>;
  /**
   * Each locked log's right-edge tiles (TreeEdge.tilesFor its size in `sizes`), by
   * `level/index`, when the engine reads them as part of locking (PostgreSQL). A sequencer whose
   * remembered edge another node moved then reads no tiles inside the lock. Empty for a log
   * still at the size the caller said it knew (`lockLogs` `knownSizes`).
   */
  edgeTiles?: ReadonlyMap<string, ReadonlyMap<string, Buffer>>;
  /**
   * `Store.append` (the same contract and refusals), and the end of the hold, whatever the
   * outcome: once it settles the lock MUST be released. An engine may release it in the
   * append's own commit (PostgreSQL does): a node waiting for the log then starts the moment
   * the append is durable, not once this node has read the reply and let go. MUST be called at
   * most once; a sequencer that must retry takes the lock again. Where the lock was lost before
   * the append (PostgreSQL: the lease ended its session), the append MUST fail, with
   * StoreUnavailableError when the database ended the session, and write nothing.
   */
  append(appends: LogAppend[]): Promise<void>;
  /**
   * Ends the hold without appending. MUST do nothing once `append` has settled (a sequencer
   * releases in a `finally`). Never rejects: a lock whose session already died is simply gone.
   */
  release(): Promise<void>;
}

/**
 * Raised by `append` when a log's stored size is not the `fromSize` the caller assumed: another
 * sequencer appended first. Nothing of the call was written. The caller reloads and retries.
 */
export class TreeSizeMismatchError extends Error {
  override name = 'TreeSizeMismatchError';
  constructor(
    readonly projectId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`log of project ${projectId} has size ${actual}, not ${expected}`);
  }
}

/**
 * Raised by `append` when an entry's event id is already in its log (or twice in the call):
 * another sequencer stored it first. Nothing of the call was written. The caller looks the ids
 * up again and plans the batch anew, which turns the entry into a duplicate receipt.
 */
export class DuplicateEventIdError extends Error {
  override name = 'DuplicateEventIdError';
  constructor(readonly projectId: string) {
    super(`an event id of this append is already in the log of project ${projectId}`);
  }
}

/**
 * Raised by any call when the store could not be reached, or lost its connection during the call
 * (a database restarting or failing over). Transient: the caller may retry. For `append`, as for
 * any error other than the two refusals, the append may have been applied.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Raised when a write names a row that must not exist yet (a project id, a key id). */
export class AlreadyExistsError extends Error {
  override name = 'AlreadyExistsError';
}

/** Raised by `putSetting` when `ifVersion` does not match; nothing was written. */
export class VersionMismatchError extends Error {
  override name = 'VersionMismatchError';
  constructor(readonly current: number) {
    super(`setting is at version ${current}`);
  }
}

export interface Store {
  readonly capabilities: StoreCapabilities;

  /** Resolves when the store answers a trivial query (readiness). Concurrent: yes. */
  ping(): Promise<void>;

  /**
   * Closes the store. MUST wait for an `append` in flight to settle. Calls after close reject.
   */
  close(): Promise<void>;

  // --- projects ------------------------------------------------------------------------------

  /** Durable and atomic. Raises AlreadyExistsError for a used id. Concurrent: yes. */
  createProject(project: ProjectRecord): Promise<void>;
  /** Concurrent: yes. */
  getProject(id: string): Promise<ProjectRecord | undefined>;
  /** In creation order; with `limit`, the first that many. Concurrent: yes. */
  listProjects(options?: { limit?: number }): Promise<ProjectRecord[]>;

  // --- keys ----------------------------------------------------------------------------------

  /** Durable and atomic. Raises AlreadyExistsError for a used id or hash. */
  createKey(key: KeyRecord): Promise<void>;
  /**
   * The live (not revoked) key whose secret hashes to `secretHash`. MUST read committed state
   * with no cache, so that a key revoked by any node fails on its very next request.
   */
  findKeyBySecretHash(secretHash: string): Promise<KeyRecord | undefined>;
  /**
   * The live (not revoked) key with this id, whatever its project. Like `findKeyBySecretHash`,
   * MUST read committed state with no cache (Digest and access-token checks rely on it to stop
   * a revoked key at once). Concurrent: yes.
   */
  findKeyById(keyId: string): Promise<KeyRecord | undefined>;
  /** Live keys of a project (null: ORG_OWNER keys), in creation order. */
  listKeys(projectId: string | null): Promise<KeyRecord[]>;
  /** Revokes a live key; durable on return. Resolves false when no such live key exists. */
  revokeKey(projectId: string | null, keyId: string): Promise<boolean>;
  /** Records use; best effort and not durable (a lost update only makes lastUsedAt older). */
  touchKey(keyId: string, at: string): Promise<void>;

  // --- HTTP Digest nonces ----------------------------------------------------------------------

  /**
   * Records that a request used count `nc` with this Digest nonce (issued at `issuedSec`, Unix
   * seconds), if `nc` is above every count recorded for it: true; false for a replay. First
   * forgets nonces issued before `forgetBeforeSec` (expired: refused as stale anyway). Atomic,
   * and seen at once by every process sharing the store, so that a request captured and
   * replayed to another node is refused there too. Need not be durable. Concurrent: yes.
   */
  recordDigestNonceUse(nonce: string, nc: number, issuedSec: number, forgetBeforeSec: number): Promise<boolean>;

  // --- revoked OAuth access tokens -------------------------------------------------------------

  /**
   * Puts an access token's id on the deny list until `expiresSec` (whole Unix seconds, as is `nowSec`), first dropping
   * entries that expired by `nowSec`; durable on return, and seen at once by every node sharing
   * the store (RFC 7009: a revoked token stops everywhere, and stays stopped after a restart).
   * Listing an id twice keeps one entry. The list is bounded: when `max` unexpired entries are
   * on it already, nothing is written and the earliest of their expiries is returned, so that a
   * client cannot grow it without limit (concurrent calls may overshoot `max` by their number).
   */
  revokeAccessToken(tokenId: string, expiresSec: number, bound: { nowSec: number; max: number }): Promise<{ listed: true } | { listed: false; firstExpirySec: number }>;
  /**
   * Whether the id is on the deny list. MUST read committed state with no cache, like
   * `findKeyById`. An expired entry may still be listed; the token's own expiry refuses it
   * anyway. Concurrent: yes.
   */
  isAccessTokenRevoked(tokenId: string): Promise<boolean>;

  // --- the log -------------------------------------------------------------------------------

  /** The number of entries in the project's log. Concurrent: yes. */
  treeSize(projectId: string): Promise<number>;

  /**
   * Makes the caller the one sequencer of these logs until it appends through the lock or
   * releases it: any other holder, in this process or another, waits. The sequencer takes it
   * before it reads a log's size and plans, and appends through it (`LogLock.append`), so that
   * what it planned is still true when it commits. (It looks event ids up before taking it,
   * unless `appendFindsStoredIds` lets it skip them: an id another sequencer stores in between,
   * or one not looked up, is refused by `append`, and the batch is planned again.) On engines
   * without `concurrentWriters` the store is already this process's alone and the lock is free.
   *
   * The lock is for liveness, not safety: a lock can be lost (its database session dies, or a
   * holder stalls past the engine's lease), so `append` MUST still refuse a stale `fromSize`
   * and a stored event id by itself. MUST NOT be called again before the last lock is released.
   * `knownSizes`: the sizes whose edge the caller already holds; an engine that reads edge
   * tiles with the lock need not read them for a log still at that size.
   */
  lockLogs(projectIds: readonly string[], knownSizes?: ReadonlyMap<string, number>): Promise<LogLock>;

  /**
   * Appends to one or more logs in one transaction: all of it or none of it. Durable on return
   * (the receipt promise rests on this). Raises, with nothing written:
   *  - TreeSizeMismatchError when a log's stored size is not its `fromSize`;
   *  - DuplicateEventIdError when an entry's event id is already in its log, or appears twice
   *    in the call (a log never holds one id twice, whichever node appended it).
   * On engines with `concurrentWriters` these checks run under a lock of the log taken inside
   * the transaction, so two processes can never both append at one size. MUST NOT be called
   * concurrently for the same log by one process. If it rejects with any other error, the
   * append may have been applied: the caller MUST reload the log's size before appending again.
   */
  append(appends: LogAppend[]): Promise<void>;

  /**
   * Entries with these event ids, if any. Reflects every append that has resolved. Concurrent:
   * yes.
   */
  findByEventIds(projectId: string, eventIds: readonly string[]): Promise<Map<string, StoredEntry>>;

  /**
   * Entries with index in [start, end), ascending. A missing row is skipped, not invented, so
   * that fsck can name it. Concurrent: yes.
   */
  readEntries(projectId: string, start: number, end: number): Promise<StoredEntry[]>;

  /**
   * The RFC 6962 leaf hash, SHA-256(0x00 || stored bytes), of each entry with index in
   * [start, end), ascending: what the checkpointer and fsck verify the tree against. Hashed from
   * the stored bytes at each call, never taken from a cache. An engine whose bytes sit across a
   * network hashes them there, so that verifying reads 32 bytes per entry rather than the entry.
   * A missing row is skipped, as in readEntries. Concurrent: yes.
   */
  hashEntries(projectId: string, start: number, end: number): Promise<StoredLeafHash[]>;

  /** Stored tiles, in the order asked; undefined where a tile does not exist. Concurrent: yes. */
  readTiles(projectId: string, tiles: readonly TileRef[]): Promise<Array<Buffer | undefined>>;

  /** readTiles with each tile's summary, for proofs (log/tree-reader.ts). Concurrent: yes. */
  readTilesWithSummaries(projectId: string, tiles: readonly TileRef[]): Promise<Array<StoredTile | undefined>>;

  /**
   * Stores a checkpoint; durable and atomic. Resolves false (nothing written) when the log
   * already has a checkpoint of this size or larger.
   */
  putCheckpoint(checkpoint: CheckpointRecord): Promise<boolean>;
  /** The largest checkpoint of the log, if any. */
  latestCheckpoint(projectId: string): Promise<CheckpointRecord | undefined>;
  /** The checkpoint of exactly this size, if one was signed. */
  checkpointAt(projectId: string, treeSize: number): Promise<CheckpointRecord | undefined>;

  // --- search ------------------------------------------------------------------------------
  //
  // The search index is derived data: search documents computed above the store and written by
  // the search indexer, which follows each log's tail in index order. It is never on the commit
  // path, and an engine may keep it less durably than the log.

  /**
   * How many entries of the log have their search documents stored: documents exist for exactly
   * the entries [0, size). Concurrent: yes.
   */
  searchIndexSize(projectId: string): Promise<number>;

  /**
   * Stores the search documents of entries [fromIndex, fromIndex + documents.length) and moves
   * the search index size to the end of that range, atomically: a reader sees all of them and
   * the new size, or neither. `documents` MUST be in index order without gaps, starting at
   * `fromIndex`. Resolves false, writing nothing, when the search index size is not `fromIndex`
   * (another indexer got there first; reload it). Not durable: after a crash an engine MAY have
   * lost documents, as long as the size it reports covers only documents it still holds. MAY be
   * called concurrently with appends and searches; concurrent calls for one log are safe (one
   * resolves true). One process MAY hand over consecutive chunks of a log before the earlier
   * ones resolve: each lands only after the one before it (an engine may write them side by
   * side), and resolves false, writing nothing, if that one did not land.
   */
  indexForSearch(projectId: string, fromIndex: number, documents: readonly SearchDocument[]): Promise<boolean>;
  /**
   * Every log whose search index is behind its tree size, with both sizes, in one read: how the
   * node that indexes a shared store finds logs other nodes appended to. Concurrent: yes.
   */
  searchBacklog(): Promise<Array<{ projectId: string; treeSize: number; searchIndexSize: number }>>;

  /**
   * One page of entries matching `query` among the entries [0, query.below), in (time, index)
   * order, at most `query.limit`. MUST use indexes so that a page costs about the entries it
   * returns, or the entries inside the query's time range, never a scan of the whole log;
   * full-text terms MUST use a full-text index. Concurrent: yes.
   */
  searchEntries(projectId: string, query: SearchQuery): Promise<SearchHit[]>;

  /**
   * The smallest and largest index of entries below the search index size whose time is in
   * [fromTime, toTime) (either bound may be absent), or no `first`/`last` when there is none;
   * with the search index size they were taken from. Export uses it to read only the part of
   * the log a time range can touch. Concurrent: yes.
   */
  searchIndexRange(projectId: string, fromTime?: number, toTime?: number): Promise<{ searchIndexSize: number; first?: number; last?: number }>;

  // --- settings ------------------------------------------------------------------------------

  getSetting<T>(projectId: string, name: string): Promise<SettingRecord<T> | undefined>;
  /**
   * Writes a new version of a setting and keeps the old one in its history; durable and atomic.
   * With `ifVersion`, raises VersionMismatchError (nothing written) unless the current version
   * equals it (0: the setting must not exist yet). Two concurrent writes with the same
   * `ifVersion` produce one success and one VersionMismatchError.
   */
  putSetting<T>(projectId: string, name: string, value: T, options?: { ifVersion?: number; at?: string }): Promise<SettingRecord<T>>;
  /** Every version of a setting, oldest first. */
  settingHistory<T>(projectId: string, name: string): Promise<Array<SettingRecord<T>>>;
  /**
   * The latest version of every setting of the project whose name starts with `namePrefix`
   * (a plain prefix: no pattern characters), ordered by name. Concurrent: yes.
   */
  listSettings<T>(projectId: string, namePrefix: string): Promise<Array<SettingRecord<T>>>;

  // --- forwarding cursors --------------------------------------------------------------------

  /**
   * The cursor of one destination of a project, if one was ever set. Reflects every `setCursor`
   * that has resolved. Concurrent: yes.
   */
  getCursor(projectId: string, destinationId: string): Promise<CursorRecord | undefined>;
  /**
   * Sets a destination's cursor (insert or replace, last writer wins; it may move backwards, which
   * replays). Atomic, and durable on return: a crash after it resolves MUST NOT bring back an
   * older value, since the forwarder's at-least-once window is the batch after the stored cursor.
   * MUST NOT be called concurrently for the same (project, destination): one forwarder owns a
   * destination. Raises nothing for an unknown destination id (destinations live in settings).
   */
  setCursor(projectId: string, destinationId: string, nextIndex: number, at: string, status?: string): Promise<void>;

  // --- leases --------------------------------------------------------------------------------

  /**
   * Takes or renews the named lease for `holder` for `ms` milliseconds: resolves true when
   * `holder` holds it now (it was free, expired, or already `holder`'s), false when another
   * holder's lease is still running. Several processes sharing a store (`concurrentWriters`)
   * use it to let one of them do a job at a time, such as delivering one destination; the
   * engine's clock (the database's, on a shared store) decides expiry, so holders' clocks need
   * not agree. A lease is for liveness, not safety: a holder that stalls past `ms` loses it
   * unawares, so what it guards MUST stay correct if two holders briefly overlap. Atomic;
   * concurrent calls for one name grant it to one holder at most.
   */
  takeLease(name: string, holder: string, ms: number): Promise<boolean>;
  /** Ends `holder`'s lease of that name, if it holds it, so another may take it at once. */
  dropLease(name: string, holder: string): Promise<void>;
}
