/**
 * Keeps each log's search index following the log, off the commit path. Ingest is the
 * throughput that matters most (spec: 50,000 events/s batched); deriving fields and writing
 * B-tree and FTS5 rows for each event would roughly halve it if done inside the durable commit.
 * So the sequencer only marks a log dirty after each commit, and this indexer reads the new
 * entries back in chunks, in index order, and hands their documents to the store
 * (`indexForSearch`), one chunk per transaction, yielding to the event loop between chunks so
 * that requests keep flowing, and resting between them while ingest needs the machine more
 * (search-pacing.ts).
 *
 * Because a log is indexed strictly in index order, its search index always holds exactly the
 * entries [0, searchIndexSize): a search that pins `below` to that size reads a snapshot that
 * later indexing can only extend past, never fill in behind. That is what keeps cursor
 * pagination free of gaps and duplicates while events keep arriving (query/search.ts).
 *
 * The lag (committed entries not yet searchable) is exposed by `lag()`; a search waits, up to a
 * bound, for the index to reach the log's size at the time of its request, so a client reads its
 * own writes when the indexer keeps up.
 *
 * Nodes sharing a store (PostgreSQL) index through a lease: one node at a time indexes every
 * log, finding the logs other nodes grew with `searchBacklog`, while the others only follow how
 * far it got, so that their searches still wait for their own writes. Without it every node read
 * and indexed every chunk, and all but one threw the work away (a second node cost a third of
 * the throughput). Should two briefly overlap (a holder stalled past the lease),
 * `indexForSearch` is conditional on the size, so the loser of a race reloads and moves on.
 */
import { Lease, leaseHolder } from '../store/lease.ts';
import type { SearchDocument, Store } from '../store/store.ts';
import { searchDocument } from './search-document.ts';
import { SearchPacing, searchPacingFor, type SearchPacingConfig } from './search-pacing.ts';
import { SearchProgress } from './search-progress.ts';

/** Entries read and indexed per transaction: about 10-20 ms of work, so ingest is never held up long. */
const SEARCH_INDEX_CHUNK = 500;
/**
 * Chunks of one log handed to the store at once when catching up. An engine that can
 * (PostgreSQL) writes them side by side, on several connections, and lands them in order; on one
 * that cannot, they are simply written one after another. While the log is still growing, or
 * the indexer yields to ingest (search-pacing.ts), it keeps one chunk in flight, leaving the
 * cores to the events being accepted (as the thread's lower priority does,
 * search-indexer-worker.ts), and takes up two once the log stops.
 * On PostgreSQL, one node, batches of 100: with one chunk in flight throughout (an experiment),
 * 17,300 to 17,600 events/s acknowledged against 15,500 to 15,900 with two, and 18% fewer
 * events indexed during the load; as built, +20% acknowledged and -6.5% counted until every
 * event was searchable (bench --quick, commit 2fc29ec).
 */
const SEARCH_INDEX_CHUNKS_IN_FLIGHT = 2;
/** A log seen to grow within this long counts as still growing. */
const GROWING_MS = 1000;
/** After a store error, how long before the indexer tries that log again. */
const RETRY_MS = 1000;
/**
 * On a shared store: how long the indexing node holds the search lease unrenewed, which is how
 * long search falls behind when that node dies before another takes over.
 */
const SEARCH_LEASE_MS = 10_000;
/**
 * On a shared store: how often the indexing node looks for logs others grew, and a node standing
 * by reads how far the index of the logs it waits on got.
 */
const SHARED_POLL_MS = 100;

export interface SearchIndexerOptions {
  /** Reports a failure to index a log (it is retried). */
  onError?(projectId: string, error: unknown): void;
  /** Told after each chunk how far a log's index got, and the log's size then. */
  onProgress?(projectId: string, indexed: number, size: number): void;
  /** Told of each rest taken to yield to ingest (search-pacing.ts), in milliseconds. */
  onRest?(ms: number): void;
  /** When to yield to ingest: a SearchPacing, or the configuration to make one from (default: the engine's, searchPacingFor). */
  pacing?: SearchPacing | SearchPacingConfig;
}

/**
 * What the server uses of search indexing, wherever the indexing runs: inline on the event loop
 * (SearchIndexer) or in a thread of its own (SearchIndexerThread, search-indexer-thread.ts).
 */
export interface SearchIndexing {
  /**
   * A log grew to `treeSize` (the sequencer's onCommitted; the indexer then treats it as still
   * growing for a while), or may be behind (start-up, a retry: no size). With a size, `backlog`
   * says whether events were still waiting for the next commit then (search-pacing.ts).
   */
  markDirty(projectId: string, treeSize?: number, backlog?: boolean): void;
  /**
   * Resolves with the log's search index size once it is at least `size`, or after `timeoutMs`
   * with whatever it is then. Never rejects: a lagging index gives an older snapshot, not an error.
   */
  waitFor(projectId: string, size: number, timeoutMs: number): Promise<number>;
  /** Committed entries not yet searchable, per log seen. */
  lag(): Map<string, number>;
  /** Finishes the chunk in progress and stops; waiters get the size reached. */
  stop(): Promise<void>;
}

/** Indexes logs on the thread it runs on; inline on the server's, or inside the indexer thread. */
export class SearchIndexer implements SearchIndexing {
  /** Logs that may have entries to index. Owned by the event loop. */
  private readonly dirty = new Set<string>();
  private readonly progress: SearchProgress;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly retries = new Set<NodeJS.Timeout>();
  /** On a shared store, the lease that makes this the one indexing node; else undefined. */
  private readonly lease: Lease | undefined;
  /** On a shared store: logs behind that another node indexes, followed by poll(). */
  private readonly following = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  /** The largest size each log was marked dirty with, and when it grew to it (0: never seen growing). */
  private readonly seenSizes = new Map<string, { size: number; at: number }>();
  /** When to yield to ingest; undefined: never (search-pacing.ts). */
  private readonly pacing: SearchPacing | undefined;
  /** Whether the indexer rested after its last chunk: it then keeps one chunk in flight. */
  private yielding = false;
  /** Ends the rest under way, if any (stop() does not wait one out). */
  private endRest: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: SearchIndexerOptions = {},
  ) {
    this.progress = new SearchProgress(store);
    this.pacing = options.pacing instanceof SearchPacing ? options.pacing : searchPacingFor(store, options.pacing);
    if (store.capabilities.concurrentWriters) {
      this.lease = new Lease(store, 'search-index', leaseHolder(), SEARCH_LEASE_MS);
      this.pollTimer = setInterval(() => void this.poll(), SHARED_POLL_MS);
      this.pollTimer.unref();
    }
  }

  markDirty(projectId: string, treeSize?: number, backlog?: boolean): void {
    if (this.stopped) return;
    // Only a commit reports a backlog (not the shared store's poll, which has a size too).
    if (backlog !== undefined) this.pacing?.noteBacklog(backlog);
    if (treeSize !== undefined) {
      this.progress.noteSize(projectId, treeSize);
      // The first size seen of a log is no growth (start-up, or taking the search lease over).
      const seen = this.seenSizes.get(projectId);
      if (!seen || treeSize > seen.size) this.seenSizes.set(projectId, { size: treeSize, at: seen ? Date.now() : 0 });
    }
    // A node standing by (the store refused it the search lease) only follows the log: its
    // poll reads the log's progress every SHARED_POLL_MS, instead of two queries after each
    // commit. A node that never asked, or whose lease lapsed, asks at once (indexLog).
    if (this.lease?.refused) {
      this.following.add(projectId);
      return;
    }
    this.dirty.add(projectId);
    this.running ??= this.run();
  }

  waitFor(projectId: string, size: number, timeoutMs: number): Promise<number> {
    return this.progress.waitFor(projectId, size, timeoutMs, this.stopped, () => this.markDirty(projectId));
  }

  /** Whether the log grew (markDirty with a larger size) within GROWING_MS. */
  private growing(projectId: string): boolean {
    const seen = this.seenSizes.get(projectId);
    return seen !== undefined && Date.now() - seen.at < GROWING_MS;
  }

  lag(): Map<string, number> {
    return this.progress.lag();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endRest?.();
    clearInterval(this.pollTimer);
    for (const timer of this.retries) clearTimeout(timer);
    await this.running;
    // Another node takes the indexing over at once, not a lease time later.
    await this.lease?.drop();
    this.progress.releaseAll();
  }

  /**
   * On a shared store. The indexing node marks dirty every log that is behind, whoever grew it;
   * a node standing by re-reads the logs it follows (and takes the lease if it is free).
   */
  private async poll(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = true;
    try {
      if (await this.lease!.hold()) {
        for (const log of await this.store.searchBacklog()) this.markDirty(log.projectId, log.treeSize);
      } else if (this.following.size > 0) {
        // indexLog reads each followed log's progress, and follows it again while it is behind.
        // Taken out of `following` first, so that a commit or a search that marks the log while
        // its progress is being read keeps it followed, for the next poll.
        for (const projectId of this.following) this.dirty.add(projectId);
        this.following.clear();
        this.running ??= this.run();
      }
    } catch (error) {
      this.options.onError?.('(search lease)', error);
    } finally {
      this.polling = false;
    }
  }

  private async run(): Promise<void> {
    try {
      while (this.dirty.size > 0 && !this.stopped) {
        const [projectId] = this.dirty;
        this.dirty.delete(projectId!);
        try {
          await this.indexLog(projectId!);
        } catch (error) {
          this.options.onError?.(projectId!, error);
          const timer = setTimeout(() => {
            this.retries.delete(timer);
            this.markDirty(projectId!);
          }, RETRY_MS);
          timer.unref();
          this.retries.add(timer);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Indexes the log up to its current size, one chunk per transaction. */
  private async indexLog(projectId: string): Promise<void> {
    let size = await this.store.treeSize(projectId);
    let indexed = await this.store.searchIndexSize(projectId);
    this.record(projectId, indexed, size);
    if (this.lease && !(await this.lease.hold())) {
      // Another node indexes: follow its progress until the log is caught up.
      if (indexed < size) this.following.add(projectId);
      return;
    }
    this.following.delete(projectId);
    // Chunks handed to the store and not yet landed, in index order (SEARCH_INDEX_CHUNKS_IN_FLIGHT).
    const inFlight: Array<{ end: number; written: Promise<boolean> }> = [];
    try {
      // The lease is checked again before each chunk: a node that lost it stops indexing.
      while (indexed < size && !this.stopped && (!this.lease || (await this.lease.hold()))) {
        const started = performance.now();
        let next = inFlight.at(-1)?.end ?? indexed;
        while (inFlight.length < (this.growing(projectId) || this.yielding ? 1 : SEARCH_INDEX_CHUNKS_IN_FLIGHT) && next < size) {
          const documents = await this.readChunk(projectId, next, size);
          const written = this.store.indexForSearch(projectId, next, documents);
          written.catch(() => {}); // met when its turn comes
          inFlight.push({ end: (next += documents.length), written });
        }
        const chunk = inFlight.shift()!;
        if (await chunk.written) indexed = chunk.end;
        else {
          // Another indexer moved the size: the chunks behind this one fail too. Reload.
          await Promise.allSettled(inFlight.splice(0).map((c) => c.written));
          indexed = await this.store.searchIndexSize(projectId);
        }
        if (indexed >= size) {
          // Caught up with the size it knew of; what arrived meanwhile is the next chunk's.
          this.pacing?.caughtUp(projectId);
          size = await this.store.treeSize(projectId);
        }
        this.record(projectId, indexed, size);
        // Yield to ingest if the machine needs it and more is left, of this log or another; at
        // least, let other work on this thread run.
        const more = indexed < size || this.dirty.size > (this.dirty.has(projectId) ? 1 : 0);
        const rest = more && this.pacing ? this.pacing.restAfter(projectId, performance.now() - started) : 0;
        this.yielding = rest > 0;
        if (rest > 0 && !this.stopped) await this.rest(rest);
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      // Stopping, a lost lease or an error: what is in flight still lands (or fails) first.
      await Promise.allSettled(inFlight.map((c) => c.written));
    }
    // The lease was lost partway: follow the node that took it over.
    if (this.lease && indexed < size && !this.stopped) this.following.add(projectId);
  }

  /** Waits `ms`, or until stop(). */
  private async rest(ms: number): Promise<void> {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.endRest = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.endRest = undefined;
    this.options.onRest?.(performance.now() - started);
  }

  /** The search documents of the entries from `from` on: a chunk at most, and below `size`. */
  private async readChunk(projectId: string, from: number, size: number): Promise<SearchDocument[]> {
    const entries = await this.store.readEntries(projectId, from, Math.min(size, from + SEARCH_INDEX_CHUNK));
    // Index order without gaps is the whole point; a missing entry is for fsck to name.
    const contiguous = entries.findIndex((entry, i) => entry.index !== from + i);
    const usable = contiguous < 0 ? entries : entries.slice(0, contiguous);
    if (usable.length === 0) throw new Error(`entry ${from} of project ${projectId} is missing from the store; run veritrail fsck`);
    return usable.map(searchDocument);
  }

  private record(projectId: string, indexed: number, size: number): void {
    this.progress.record(projectId, indexed, size);
    this.options.onProgress?.(projectId, indexed, size);
  }
}
