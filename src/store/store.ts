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
}

/** One stored log entry: its index and the exact envelope bytes that were hashed. */
export interface StoredEntry {
  index: number;
  envelope: Buffer;
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
}

export interface TileRef {
  level: number;
  index: number;
}

/**
 * What differs between engines, as documented flags (STYLE.md §4) rather than engine checks
 * scattered through the code.
 */
export interface StoreCapabilities {
  /** Engine name for logs and metrics: "sqlite" or "postgres". */
  readonly engine: string;
  /** Several processes may append to one store at once (each log still has one sequencer). */
  readonly concurrentWriters: boolean;
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
  /** In creation order. Concurrent: yes. */
  listProjects(): Promise<ProjectRecord[]>;

  // --- keys ----------------------------------------------------------------------------------

  /** Durable and atomic. Raises AlreadyExistsError for a used id or hash. */
  createKey(key: KeyRecord): Promise<void>;
  /**
   * The live (not revoked) key whose secret hashes to `secretHash`. MUST read committed state
   * with no cache, so that a key revoked by any node fails on its very next request.
   */
  findKeyBySecretHash(secretHash: string): Promise<KeyRecord | undefined>;
  /** Live keys of a project (null: ORG_OWNER keys), in creation order. */
  listKeys(projectId: string | null): Promise<KeyRecord[]>;
  /** Revokes a live key; durable on return. Resolves false when no such live key exists. */
  revokeKey(projectId: string | null, keyId: string): Promise<boolean>;
  /** Records use; best effort and not durable (a lost update only makes lastUsedAt older). */
  touchKey(keyId: string, at: string): Promise<void>;

  // --- the log -------------------------------------------------------------------------------

  /** The number of entries in the project's log. Concurrent: yes. */
  treeSize(projectId: string): Promise<number>;

  /**
   * Appends to one or more logs in one transaction: all of it or none of it. Durable on return
   * (the receipt promise rests on this). Raises TreeSizeMismatchError (nothing written) when a
   * log's size is not its `fromSize`. MUST NOT be called concurrently for the same log; the
   * sequencer guarantees that, and on engines with `concurrentWriters` the engine's sequencer
   * lock does across processes. If it rejects with any other error, the append may have been
   * applied: the caller MUST reload the log's size before appending again.
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

  /** Stored tiles, in the order asked; undefined where a tile does not exist. Concurrent: yes. */
  readTiles(projectId: string, tiles: readonly TileRef[]): Promise<Array<Buffer | undefined>>;

  /**
   * Stores a checkpoint; durable and atomic. Resolves false (nothing written) when the log
   * already has a checkpoint of this size or larger.
   */
  putCheckpoint(checkpoint: CheckpointRecord): Promise<boolean>;
  /** The largest checkpoint of the log, if any. */
  latestCheckpoint(projectId: string): Promise<CheckpointRecord | undefined>;
  /** The checkpoint of exactly this size, if one was signed. */
  checkpointAt(projectId: string, treeSize: number): Promise<CheckpointRecord | undefined>;

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
  setCursor(projectId: string, destinationId: string, nextIndex: number, at: string): Promise<void>;
}
