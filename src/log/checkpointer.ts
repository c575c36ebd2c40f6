/**
 * Signs C2SP checkpoints of growing logs, at most once per interval per log, and never a
 * checkpoint that cannot be proven consistent with the last one (spec/tlog.md §4.2). Before it
 * signs size n after size m, it:
 *   1. folds the stored tiles at size m and requires the root it signed at m;
 *   2. has the store hash the stored bytes of the entries [m, n) (store.ts hashEntries: a leaf
 *      hash is never taken from a cache), extends the tree of size m with them, and requires
 *      every stored tile that changed to hold what they make, with its summary if it has one
 *      (tile-check.ts, the check fsck makes: roots never read a summary, proofs do), and
 *   3. requires that root to equal the root of the stored tiles at size n, so the tiles it
 *      serves agree with the entries it signed.
 * A failure of any of these is fatal for that log: it stops being signed and the error names
 * the first leaf whose stored bytes and stored hash disagree.
 *
 * Nodes sharing a store each sign the logs they grew, and a signing pass of a log with many
 * unsigned entries goes through a lease (`checkpoint/<project>`), taken for the pass and dropped
 * after it. Without it two nodes signing at about the same time both verified the same entries
 * (with two nodes, 1.7 entries hashed per entry appended), and only one of their checkpoints was
 * kept. A node refused the lease hands its waiters whatever the other node has stored so far, and
 * leaves the log for its next pass, where it finds that checkpoint and verifies only what came
 * after. Few unsigned entries are signed without the lease (verifying them twice costs less than
 * the lease's two writes), and so is every log in the last pass before stopping, so that a clean
 * stop leaves every log it grew covered. A pass renews the lease between the chunks it verifies,
 * so a long verification (a large backlog after a restart) keeps the others off; one that finds
 * the lease taken stops there and leaves the log to the node that took it. The lease is for work,
 * not safety: should two passes overlap (a holder stalled past its lease), putCheckpoint keeps
 * only a checkpoint larger than every stored one.
 */
import { isoTime, systemClock, type Clock } from '../core/clock.ts';
import { FatalError } from '../core/errors.ts';
import { Lease, leaseHolder } from '../store/lease.ts';
import type { CheckpointRecord, Store } from '../store/store.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { openNote, signNote, type NoteSigner } from './signed-note.ts';
import { firstTileMismatch } from './tile-check.ts';
import { TreeEdge } from './tree-edge.ts';
import { TreeReader } from './tree-reader.ts';

/** How often a growing log gets a new checkpoint (spec: at most once a second). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
/** Entries re-read per store call while verifying before a signature. */
const VERIFY_CHUNK = 2048;
/**
 * On a shared store: how long a node's signing pass of a log holds the others off unrenewed
 * (it renews between verified chunks). Also how long a log may go unsigned when a node dies in
 * the middle of that pass.
 */
export const DEFAULT_SIGNING_LEASE_MS = 5000;
/** On a shared store: from how many unsigned entries a signing pass takes the lease. */
const LEASE_FROM_ENTRIES = VERIFY_CHUNK;

export interface CheckpointerOptions {
  intervalMs?: number;
  /** On a shared store: the signing lease's time (default DEFAULT_SIGNING_LEASE_MS; tests shorten it). */
  signingLeaseMs?: number;
  clock?: Clock;
  /** Reports a log that failed verification; it is not signed again until restart. */
  onFatal?(projectId: string, error: FatalError): void;
}

/** A signing pass found its lease taken by another node mid-verification: that node signs the log. */
class SigningLeaseLost extends Error {}

/** A log's size and latest checkpoint, read together. */
interface LogState {
  size: number;
  last: CheckpointRecord | undefined;
}

interface Waiter {
  size: number;
  resolve(checkpoint: CheckpointRecord): void;
  reject(error: unknown): void;
}

export class Checkpointer {
  /** Logs that grew since their last checkpoint. Owned by the event loop. */
  private readonly dirty = new Set<string>();
  /** Logs that failed verification; never signed again by this process. */
  private readonly failed = new Map<string, FatalError>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** The signing pass in progress, so passes never overlap. */
  private pass: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly clock: Clock;
  /** On a shared store, this process's name as a lease holder; else undefined (no leases). */
  private readonly holder: string | undefined;
  /** On a shared store: the signing lease of each log seen. */
  private readonly leases = new Map<string, Lease>();
  /** Set by stop() for its last pass, which signs without leases. */
  private stopping = false;

  /**
   * Its own reader, with no tile cache: it checks the tiles as stored now, not as a proof read
   * them earlier (tiles a cache holds would hide a rewrite).
   */
  private readonly reader: TreeReader;

  constructor(
    private readonly store: Store,
    private readonly signer: NoteSigner,
    private readonly options: CheckpointerOptions = {},
  ) {
    this.reader = new TreeReader(store, 0);
    this.intervalMs = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.clock = options.clock ?? systemClock;
    this.holder = store.capabilities.concurrentWriters ? leaseHolder() : undefined;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.runPass(), this.intervalMs);
    this.holdTimer();
  }

  /** The timer keeps the process alive exactly while somebody waits for a checkpoint. */
  private holdTimer(): void {
    if (this.waiters.size > 0) this.timer?.ref();
    else this.timer?.unref();
  }

  /** Stops the timer and signs whatever grew, so a clean shutdown leaves every log covered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass; // a pass under way (which may have been refused a lease) ends first
    this.stopping = true;
    await this.runPass();
    for (const [projectId, waiters] of this.waiters) {
      for (const waiter of waiters) waiter.reject(new Error(`stopped before a checkpoint of project ${projectId} covered size ${waiter.size}`));
    }
    this.waiters.clear();
  }

  /** Marks a log as grown; it is signed on the next pass. */
  markDirty(projectId: string): void {
    this.dirty.add(projectId);
  }

  /** Resolves with the first checkpoint of the log whose size is at least `size`. */
  async waitFor(projectId: string, size: number): Promise<CheckpointRecord> {
    const latest = await this.store.latestCheckpoint(projectId);
    if (latest && latest.treeSize >= size) return latest;
    const failure = this.failed.get(projectId);
    if (failure) throw failure;
    this.dirty.add(projectId);
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(projectId) ?? [];
      list.push({ size, resolve, reject });
      this.waiters.set(projectId, list);
      this.holdTimer();
    });
  }

  /** Runs one signing pass now (also what the timer does). */
  runPass(): Promise<void> {
    this.pass ??= this.signDirty().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async signDirty(): Promise<void> {
    const projects = [...this.dirty];
    this.dirty.clear();
    for (const projectId of projects) {
      if (this.failed.has(projectId)) continue;
      let lease: Lease | undefined;
      try {
        // On a shared store (not in the last pass), the log's state decides whether to take the lease.
        const read = this.holder !== undefined && !this.stopping ? await this.readLog(projectId) : undefined;
        lease = read && read.size - (read.last?.treeSize ?? 0) >= LEASE_FROM_ENTRIES ? this.signingLease(projectId) : undefined;
        if (lease && !(await lease.hold())) {
          await this.leaveToOtherNode(projectId);
          continue;
        }
        // Once the lease is taken the log is read again: another node may have signed meanwhile.
        const checkpoint = await this.signLog(projectId, lease ? undefined : read, lease);
        if (checkpoint) this.release(projectId, checkpoint);
      } catch (error) {
        if (error instanceof SigningLeaseLost) {
          await this.leaveToOtherNode(projectId).catch(() => this.dirty.add(projectId));
          continue;
        }
        const fatal = error instanceof FatalError ? error : new FatalError(`couldn't sign a checkpoint of project ${projectId}`, { cause: error });
        if (error instanceof FatalError) this.failed.set(projectId, fatal);
        else this.dirty.add(projectId); // a store hiccup: try again next pass
        this.options.onFatal?.(projectId, fatal);
        if (error instanceof FatalError) this.release(projectId, fatal);
      } finally {
        await lease?.drop();
      }
    }
  }

  /**
   * Another node holds the log's signing lease and signs it: what it stored so far may cover
   * some waiters already, and the next pass verifies only what comes after it.
   */
  private async leaveToOtherNode(projectId: string): Promise<void> {
    const latest = await this.store.latestCheckpoint(projectId);
    if (latest) this.release(projectId, latest);
    this.dirty.add(projectId);
  }

  /** The log's signing lease (on a shared store; the class comment says when a pass takes it). */
  private signingLease(projectId: string): Lease {
    let lease = this.leases.get(projectId);
    if (!lease) this.leases.set(projectId, (lease = new Lease(this.store, `checkpoint/${projectId}`, this.holder!, this.options.signingLeaseMs ?? DEFAULT_SIGNING_LEASE_MS)));
    return lease;
  }

  /** The log's size and its latest checkpoint. */
  private async readLog(projectId: string): Promise<LogState> {
    const [size, last] = await Promise.all([this.store.treeSize(projectId), this.store.latestCheckpoint(projectId)]);
    return { size, last };
  }

  /**
   * Signs the log's current size if it grew; returns the latest checkpoint either way. `read` is
   * the log's state if the caller has just read it; `lease`, the signing lease the caller holds,
   * renewed between verified chunks (SigningLeaseLost if another node has taken it).
   */
  async signLog(projectId: string, read?: LogState, lease?: Lease): Promise<CheckpointRecord | undefined> {
    const project = await this.store.getProject(projectId);
    if (!project) return undefined;
    const { size, last } = read ?? (await this.readLog(projectId));
    if (last && last.treeSize >= size) return last;
    const oldSize = last?.treeSize ?? 0;

    // 1. The stored tree at the last signed size must still have the signed root.
    if (last) {
      openNote(last.note, [this.signer]);
      const storedOldRoot = await this.reader.root(projectId, oldSize);
      if (!storedOldRoot.equals(last.rootHash)) {
        throw new FatalError(`project ${projectId}: stored tiles at size ${oldSize} no longer match the signed checkpoint`);
      }
    }

    // 2. Extend the old tree with leaf hashes recomputed from the stored entry bytes.
    let edge = TreeEdge.fromTiles(oldSize, await this.store.readTiles(projectId, TreeEdge.tilesFor(oldSize)));
    for (let start = oldSize; start < size; start += VERIFY_CHUNK) {
      if (start > oldSize && lease && !(await lease.hold())) throw new SigningLeaseLost(`the signing lease of project ${projectId} was taken`);
      const end = Math.min(size, start + VERIFY_CHUNK);
      const hashes = (await this.store.hashEntries(projectId, start, end)).map((entry, i) => {
        if (entry.index !== start + i) throw new FatalError(`project ${projectId}: entry ${start + i} is missing from the store`);
        if (!entry.leafHash) throw new FatalError(`project ${projectId}: entry ${start + i} has no payload`);
        return entry.leafHash;
      });
      if (hashes.length !== end - start) throw new FatalError(`project ${projectId}: entry ${start + hashes.length} is missing from the store`);
      const extended = edge.extend(hashes);
      const bad = await firstTileMismatch(this.store, projectId, extended.tiles);
      if (bad) throw new FatalError(`project ${projectId}: ${bad.problem}`);
      edge = extended.edge;
    }

    // 3. The stored tiles at the new size must give the same root.
    const root = edge.root();
    const storedRoot = await this.reader.root(projectId, size);
    if (!root.equals(storedRoot)) throw new FatalError(`project ${projectId}: stored tiles at size ${size} disagree with the stored entries`);

    const note = signNote(formatCheckpoint({ origin: project.logOrigin, size, root }), this.signer);
    const checkpoint: CheckpointRecord = { projectId, treeSize: size, rootHash: root, note, createdAt: isoTime(this.clock.now()) };
    if (!(await this.store.putCheckpoint(checkpoint))) return this.store.latestCheckpoint(projectId);
    return checkpoint;
  }

  private release(projectId: string, outcome: CheckpointRecord | Error): void {
    const list = this.waiters.get(projectId);
    if (!list) return;
    const still: Waiter[] = [];
    for (const waiter of list) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else if (outcome.treeSize >= waiter.size) waiter.resolve(outcome);
      else still.push(waiter);
    }
    if (still.length > 0) {
      this.waiters.set(projectId, still);
      this.dirty.add(projectId);
    } else this.waiters.delete(projectId);
    this.holdTimer();
  }
}
