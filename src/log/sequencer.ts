/**
 * The sequencer gives events their place in their project's log. It is the one writer of every
 * log this process sequences: requests queue here, and each batch takes everything queued,
 * across projects, into one store transaction (group commit), so concurrent requests share one
 * durable commit. A receipt is resolved only after that commit is durable.
 *
 * A batch's ordered steps read top to bottom in two places (STYLE.md §2): `commitLocked()`
 * reads (the lookup, the lock, the tree edges), `commitBatch()` plans, writes and answers;
 * tile arithmetic, hashing and storage live in neighbouring files.
 */
import { FatalError, VT_ERR_EVENT_ID_CONFLICT, VT_ERR_SHUTTING_DOWN } from '../core/errors.ts';
import { sameEventContent, parseEnvelope } from '../core/envelope.ts';
import { LruMap } from '../core/lru-map.ts';
import { DuplicateEventIdError, TreeSizeMismatchError, type LogAppend, type LogLock, type Store, type StoredEntry } from '../store/store.ts';
import { leafHash } from './hashing.ts';
import type { PreparedEvent } from './prepare.ts';
import { TreeEdge } from './tree-edge.ts';

/** The most events one commit takes; a larger queue is committed over several. */
export const DEFAULT_BATCH_MAX_EVENTS = 8192;
/** How many logs' tree edges stay in memory; others reload from their tiles on next use. */
export const DEFAULT_EDGE_CACHE_SIZE = 4096;
/**
 * How often a batch is planned again before giving up. Once at most because some of its logs
 * were not looked up (uncheckedLogs): the append was refused for a stored id, or two events of
 * such a log conflicted (the batch planned again looks up every log). Otherwise for a race,
 * which is rare: an id another node stored between this node's lookup and its append (a client
 * retrying through another node), or a log another sequencer moved (only when the lock was
 * lost).
 */
const MAX_REPLANS = 4;
/**
 * On a store whose append finds stored ids itself (StoreCapabilities.appendFindsStoredIds), how
 * many batches of a log, counted from the last one in which a lookup found a stored id, look
 * their ids up first. A stored id the append finds costs that append, refused and planned again
 * with a lookup; clients that retry tend to send many known ids in a row, so the lookup stays on
 * for a while once one is seen.
 */
export const LOOKUP_BATCHES_AFTER_DUPLICATE = 64;

/** The entries found stored for a batch's event ids, by log and id. */
type StoredByProject = Map<string, Map<string, StoredEntry>>;

/** Each log of a batch with the event ids its requests carry, in batch order. */
function eventIdsByProject(batch: readonly PendingRequest[]): Map<string, string[]> {
  const idsByProject = new Map<string, string[]>();
  for (const request of batch) {
    let ids = idsByProject.get(request.projectId);
    if (!ids) idsByProject.set(request.projectId, (ids = []));
    for (const event of request.events) ids.push(event.eventId);
  }
  return idsByProject;
}

/** What the caller gets for one event. */
export interface Receipt {
  eventId: string;
  index: number;
  leafHash: Buffer;
  receivedAt: string;
  /** True when the event id was already in the log with this content; nothing was appended. */
  duplicate: boolean;
}

/** Test seams (STYLE.md §11): called around the durable step of every commit. */
export interface SequencerHooks {
  beforeCommit?(appends: readonly LogAppend[]): void | Promise<void>;
  afterCommit?(appends: readonly LogAppend[]): void | Promise<void>;
}

interface PendingRequest {
  projectId: string;
  events: PreparedEvent[];
  resolve(receipts: Receipt[]): void;
  reject(error: unknown): void;
}

export interface SequencerOptions {
  batchMaxEvents?: number;
  edgeCacheSize?: number;
  hooks?: SequencerHooks;
  /** Called with each project whose log grew, after the commit. */
  onCommitted?(projectId: string, treeSize: number): void;
}

export class Sequencer {
  /** Requests waiting for a commit. Appended by submit(), drained only by run(). */
  private queue: PendingRequest[] = [];
  /** Events in `queue`, for pushback. Owned by the event loop, like `queue`. */
  private queuedEvents = 0;
  /** Tree edges by project. Read by commitLocked() and replaced by commitBatch(), one batch at a time. */
  private readonly edges: LruMap<string, TreeEdge>;
  /**
   * Logs in which a lookup found a stored id lately, and how many more of their batches look up
   * first; as many logs at most as the edges.
   */
  private readonly lookupsLeft: LruMap<string, number>;
  /** The promise of the running drain loop, if one is running. */
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly batchMaxEvents: number;

  constructor(
    private readonly store: Store,
    private readonly options: SequencerOptions = {},
  ) {
    this.batchMaxEvents = options.batchMaxEvents ?? DEFAULT_BATCH_MAX_EVENTS;
    const edgeCacheSize = options.edgeCacheSize ?? DEFAULT_EDGE_CACHE_SIZE;
    this.edges = new LruMap(edgeCacheSize);
    this.lookupsLeft = new LruMap(edgeCacheSize);
  }

  /** Events queued and not yet committed. */
  get depth(): number {
    return this.queuedEvents;
  }

  /**
   * Queues one request's events; resolves with one receipt per event, in order, once they are
   * durably sequenced. All of a request's events are committed together or not at all.
   */
  submit(projectId: string, events: PreparedEvent[]): Promise<Receipt[]> {
    if (this.closed) return Promise.reject(new VT_ERR_SHUTTING_DOWN());
    return new Promise((resolve, reject) => {
      this.queue.push({ projectId, events, resolve, reject });
      this.queuedEvents += events.length;
      this.running ??= this.run();
    });
  }

  /** Stops taking requests and resolves when everything queued has been committed or refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Yield once so that requests whose bodies arrived while the last commit ran are parsed
        // and queued now, and join this commit instead of waiting for the next.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.take();
        await this.commitLocked(batch);
      }
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Takes whole requests from the queue, in order, up to the batch limit: at least one when the
   * batch is empty (`events` 0), and none past the first that does not fit, so that each log's
   * requests keep their order. With `projects`, only requests for those logs (commitLocked, once
   * it holds their lock); the others keep their place in the queue.
   */
  private take(projects?: ReadonlySet<string>, events = 0): PendingRequest[] {
    const taken: PendingRequest[] = [];
    const rest: PendingRequest[] = [];
    let full = false;
    for (const request of this.queue) {
      if (!full && (!projects || projects.has(request.projectId))) {
        if (events + request.events.length <= this.batchMaxEvents || (events === 0 && taken.length === 0)) {
          taken.push(request);
          events += request.events.length;
          this.queuedEvents -= request.events.length;
          continue;
        }
        full = true;
      }
      rest.push(request);
    }
    this.queue = rest;
    return taken;
  }

  /**
   * Holds the store's lock of every log in the batch (store.ts `lockLogs`) while the batch is
   * planned and committed, so that no other node appends to those logs in between; the append
   * ends it. A batch whose append lost a race, or that did not look its ids up and needed to
   * (MAX_REPLANS), is planned again under a new lock, with its ids looked up. Crash-wise the
   * lock is nothing: the database drops it with this process's session.
   */
  private async commitLocked(batch: PendingRequest[], attempt = 0): Promise<void> {
    const idsByProject = eventIdsByProject(batch);
    const projects = [...idsByProject.keys()];
    const unchecked = this.uncheckedLogs(projects, attempt);
    let stored: StoredByProject;
    let lock: LogLock;
    let retry: PendingRequest[] | undefined;
    try {
      // Step 2 (see commitBatch), before the lock: while this node looks its ids up, another node
      // may be committing to these logs, instead of waiting for this lookup too.
      stored = await this.lookUp(idsByProject, unchecked);
      lock = await this.store.lockLogs(projects, this.knownSizes(projects));
    } catch (error) {
      this.fail(batch, projects, error);
      return;
    }
    try {
      // Requests for these logs queued while the batch waited for their lock join it, since the
      // lock is held now: with several nodes on one log a batch often waits, and then one commit
      // (and one fsync, paid inside the lock) serves them all instead of the next batch.
      const more = this.take(new Set(projects), batch.reduce((sum, request) => sum + request.events.length, 0));
      let edges: Map<string, TreeEdge>;
      try {
        // Step 1 (load the tree edge of every log, from tiles if another node appended since
        // this one last did) and step 2 for the requests that joined, side by side: both may
        // be round trips inside the lock. Both only read: if we crash here, nothing was
        // written and nothing acknowledged.
        let found: StoredByProject;
        [edges, found] = await Promise.all([this.edgesOf(projects, lock), this.lookUp(eventIdsByProject(more), unchecked)]);
        for (const [p, entries] of found) for (const [id, entry] of entries) stored.get(p)!.set(id, entry);
      } catch (error) {
        this.fail([...batch, ...more], projects, error);
        return;
      }
      retry = await this.commitBatch([...batch, ...more], edges, stored, unchecked, lock, attempt);
    } finally {
      await lock.release();
    }
    if (retry) await this.commitLocked(retry, attempt + 1);
  }

  /**
   * The logs of a batch whose ids are not looked up before the append. Only on a store whose
   * append finds stored ids itself, and not for the logs in which a lookup found one lately, nor
   * in a batch planned again (`attempt` > 0): it looks up every log, so that stored ids in
   * several logs cost one refused append, not one each.
   */
  private uncheckedLogs(projects: readonly string[], attempt: number): ReadonlySet<string> {
    if (!this.store.capabilities.appendFindsStoredIds || attempt > 0) return new Set();
    return new Set(projects.filter((p) => !this.lookupsLeft.has(p)));
  }

  /**
   * Every event id of a batch looked up in the store, in one query per log, but for the logs
   * `unchecked`: they get no entries, and a stored id among theirs is refused by the append (or
   * shows as a conflict in commitBatch), which sends the batch back to be planned again.
   */
  private async lookUp(idsByProject: Map<string, string[]>, unchecked: ReadonlySet<string>): Promise<StoredByProject> {
    return new Map(
      await Promise.all(
        [...idsByProject].map(async ([p, ids]) => {
          if (unchecked.has(p)) return [p, new Map<string, StoredEntry>()] as const;
          const found = await this.store.findByEventIds(p, ids);
          if (found.size > 0) this.keepLookingUp(p);
          return [p, found] as const;
        }),
      ),
    );
  }

  /** A lookup found a stored id in the log: its next batches look up first (where they would not). */
  private keepLookingUp(projectId: string): void {
    if (this.store.capabilities.appendFindsStoredIds) this.lookupsLeft.set(projectId, LOOKUP_BATCHES_AFTER_DUPLICATE);
  }

  /** One more of the log's batches is committed. */
  private countDownLookups(projectId: string): void {
    const left = this.lookupsLeft.get(projectId);
    if (left === undefined) return;
    if (left <= 1) this.lookupsLeft.delete(projectId);
    else this.lookupsLeft.set(projectId, left - 1);
  }

  /**
   * Commits one batch of requests through `lock`, given what commitLocked read: the tree
   * `edges` of its logs (step 1) and the entries `stored` for its ids (step 2). Those steps only
   * read; nothing is written before step 5, so if we crash before it, the queued requests were
   * never acknowledged. Ids another sequencer stores after the lookup (a client retrying through
   * another node), and stored ids that were not looked up (lookUp), are refused by the store in
   * step 5 (DuplicateEventIdError), and the batch is returned to be planned again with a fresh
   * lookup; so is a batch with a conflict in a log not looked up (step 3). Every other request
   * is either resolved with receipts after the store commit is durable, or rejected with
   * nothing of it appended.
   */
  private async commitBatch(
    batch: PendingRequest[],
    edges: ReadonlyMap<string, TreeEdge>,
    stored: StoredByProject,
    unchecked: ReadonlySet<string>,
    lock: LogLock,
    attempt: number,
  ): Promise<PendingRequest[] | undefined> {
    // Step 3: decide each request's fate in memory: conflicting requests are refused whole;
    // duplicates reuse the original receipt; the rest take the next indexes of their log.
    const plans = new Map<string, { fromSize: number; events: PreparedEvent[] }>();
    const accepted: Array<{ request: PendingRequest; slots: Array<Slot> }> = [];
    const conflicting: Array<{ request: PendingRequest; error: Error }> = [];
    const pendingById = new Map<string, { projectId: string; event: PreparedEvent; slot: Slot }>();
    for (const request of batch) {
      const plan = plans.get(request.projectId) ?? { fromSize: edges.get(request.projectId)!.size, events: [] };
      const slots = this.planRequest(request, plan, stored.get(request.projectId)!, pendingById);
      if (slots instanceof Error) {
        conflicting.push({ request, error: slots });
        continue;
      }
      plans.set(request.projectId, plan);
      accepted.push({ request, slots });
    }
    // A conflict between two events of this batch, in a log whose ids were not looked up, may
    // be a conflict with a stored event instead: that one's id would then take the stored
    // receipt, and the other be refused with the stored index. Plan again with the lookup.
    if (attempt < MAX_REPLANS && conflicting.some(({ request }) => unchecked.has(request.projectId))) return batch;
    for (const { request, error } of conflicting) request.reject(error);

    // Step 4: extend each tree edge in memory; the old edges stay until the commit succeeds.
    const appends: LogAppend[] = [];
    const nextEdges = new Map<string, TreeEdge>();
    for (const [projectId, plan] of plans) {
      if (plan.events.length === 0) continue;
      const { edge, tiles } = edges.get(projectId)!.extend(plan.events.map((e) => e.leafHash));
      nextEdges.set(projectId, edge);
      appends.push({
        projectId,
        fromSize: plan.fromSize,
        entries: plan.events.map((e) => ({ eventId: e.eventId, envelope: e.envelope })),
        tiles,
      });
    }

    // Step 5: the durable step. One transaction holds every log's entries, tiles and new size.
    // If we crash before it commits, nothing was acknowledged and nothing is stored. If we crash
    // after it commits but before step 6, the events are stored but unacknowledged; a client
    // that retries with the same event id gets the original receipt (from step 2, or from the
    // append's refusal and the lookup of the batch planned again).
    if (appends.length > 0) {
      try {
        await this.options.hooks?.beforeCommit?.(appends);
        await lock.append(appends);
        await this.options.hooks?.afterCommit?.(appends);
      } catch (error) {
        if ((error instanceof TreeSizeMismatchError || error instanceof DuplicateEventIdError) && attempt < MAX_REPLANS) {
          // Another sequencer appended first (possible only across processes), or one of these
          // ids is stored (by another node since the lookup, or not looked up): nothing was
          // written, so reload that log's edge, look the ids up again (a stored id now becomes
          // a duplicate receipt) and plan the same batch again.
          // (A stored id leaves the log where it was planned: its edge stays good.)
          if (error instanceof TreeSizeMismatchError) this.edges.delete(error.projectId);
          return accepted.map((a) => a.request);
        }
        // The commit may or may not have been applied: forget the edges so the next batch
        // reloads them from durable state, and refuse these requests.
        this.fail(
          accepted.map((a) => a.request),
          [...nextEdges.keys()],
          error,
        );
        return;
      }
    }

    // Step 6: the commit is durable; publish the new edges, then resolve every receipt.
    for (const [projectId, edge] of nextEdges) this.edges.set(projectId, edge);
    for (const projectId of plans.keys()) this.countDownLookups(projectId);
    for (const { request, slots } of accepted) request.resolve(slots.map((slot) => slot.receipt!));
    for (const append of appends) this.options.onCommitted?.(append.projectId, append.fromSize + append.entries.length);
  }

  /**
   * Plans one request against what is stored and what this batch already holds. Returns an
   * Error (and changes nothing) when one of its events conflicts.
   */
  private planRequest(
    request: PendingRequest,
    plan: { fromSize: number; events: PreparedEvent[] },
    stored: Map<string, StoredEntry>,
    pendingById: Map<string, { projectId: string; event: PreparedEvent; slot: Slot }>,
  ): Slot[] | Error {
    const slots: Slot[] = [];
    const mine = new Map<string, { event: PreparedEvent; slot: Slot }>();
    const additions: PreparedEvent[] = [];
    for (const event of request.events) {
      const key = `${request.projectId}\u0000${event.eventId}`;
      const existing = stored.get(event.eventId);
      if (existing) {
        if (!sameEventContent(existing.envelope, event.envelope)) return new VT_ERR_EVENT_ID_CONFLICT(event.eventId, existing.index);
        slots.push(duplicateSlot(existing));
        continue;
      }
      const earlier = mine.get(key) ?? pendingById.get(key);
      if (earlier) {
        if (!sameEventContent(earlier.event.envelope, event.envelope)) return new VT_ERR_EVENT_ID_CONFLICT(event.eventId, 'pending');
        slots.push(new Slot(earlier.slot));
        continue;
      }
      const slot = new Slot(undefined, {
        eventId: event.eventId,
        index: plan.fromSize + plan.events.length + additions.length,
        leafHash: event.leafHash,
        receivedAt: event.receivedAt,
        duplicate: false,
      });
      additions.push(event);
      mine.set(key, { event, slot });
      slots.push(slot);
    }
    plan.events.push(...additions);
    for (const [key, value] of mine) pendingById.set(key, { projectId: request.projectId, ...value });
    return slots;
  }

  /** The sizes of these logs' remembered edges (the lock need not bring tiles for those). */
  private knownSizes(projects: readonly string[]): Map<string, number> {
    const sizes = new Map<string, number>();
    for (const p of projects) {
      const edge = this.edges.get(p);
      if (edge) sizes.set(p, edge.size);
    }
    return sizes;
  }

  /** The tree edges of these logs, with what `lock` read of them (sizes, tiles) if it did. */
  private async edgesOf(projects: readonly string[], lock: LogLock): Promise<Map<string, TreeEdge>> {
    return new Map(await Promise.all(projects.map(async (p) => [p, await this.edgeOf(p, lock.sizes?.get(p), lock.edgeTiles?.get(p))] as const)));
  }

  /**
   * The log's tree edge; `lockedSize` is its size as read under the log's lock, if it was, and
   * `lockedTiles` its edge tiles read with it.
   */
  private async edgeOf(projectId: string, lockedSize?: number, lockedTiles?: ReadonlyMap<string, Buffer>): Promise<TreeEdge> {
    const cached = this.edges.get(projectId);
    // On a store other nodes append to, the edge this sequencer remembers is good only if none
    // did since; with the log's lock held, the size read here cannot move before the commit.
    const size = lockedSize ?? (cached && !this.store.capabilities.concurrentWriters ? cached.size : await this.store.treeSize(projectId));
    if (cached?.size === size) return cached;
    const refs = TreeEdge.tilesFor(size);
    const read = lockedTiles && refs.map((ref) => lockedTiles.get(`${ref.level}/${ref.index}`));
    const tiles = read?.every((tile) => tile !== undefined) ? read : await this.store.readTiles(projectId, refs);
    try {
      return TreeEdge.fromTiles(size, tiles);
    } catch (error) {
      throw new FatalError(`couldn't load the tree of project ${projectId}`, { cause: error });
    }
  }

  private fail(requests: PendingRequest[], projects: string[], error: unknown): void {
    for (const p of projects) this.edges.delete(p);
    for (const request of requests) request.reject(error);
  }
}

/**
 * Where one event's receipt comes from: its own new index, an entry already stored, or an
 * earlier event of the same batch with the same id and content (whose receipt it shares).
 */
class Slot {
  constructor(
    private readonly sameAs?: Slot,
    private readonly own?: Receipt,
  ) {}
  get receipt(): Receipt | undefined {
    if (this.own) return this.own;
    const original = this.sameAs!.receipt!;
    return { ...original, duplicate: true };
  }
}

function duplicateSlot(entry: StoredEntry): Slot {
  const envelope = parseEnvelope(entry.envelope);
  return new Slot(undefined, {
    eventId: envelope.eventId,
    index: entry.index,
    leafHash: leafHash(entry.envelope),
    receivedAt: envelope.receivedAt,
    duplicate: true,
  });
}
