/**
 * When search indexing yields to ingest.
 *
 * Indexing an event for search costs about twice what accepting it does (on PostgreSQL, about
 * 110 µs in the database and 40 to 60 µs in the node's search thread, against about 80 µs in
 * all to accept one, measured on two cores). The node's search thread runs at a lower priority
 * (search-indexer-worker.ts), but on PostgreSQL its writes run in a database backend that
 * cannot: it competes with the backend appending events as an equal. On a saturated machine a
 * burst was accepted a quarter slower than with search held off (18,400 against 24,400
 * events/s, one node, batches of 100), while the index fell behind by most of the burst anyway.
 *
 * So search yields to events waiting for a commit, and only when the machine has no CPU to
 * spare: while the node's sequencer reports a backlog and less than a tenth of the CPU time the
 * node may use is spare (its CPUs, and its container's CPU quota: core/cpu-spare-sampler.ts),
 * the indexer rests after each chunk for three times as long as the chunk took, at most a
 * second, keeping one chunk in flight. Either condition gone, it indexes at full pace again:
 * the CPU it leaves is then spare, so it takes it back, and under a load the machine can carry
 * with a tenth to spare search keeps up as before.
 * Yielding is bounded, log by log: a minute after a log's first rest since its index last
 * reached its size, the indexer stops resting for that log until it has caught up again, so
 * that past that minute a sustained overload costs search no more than it did before. What a
 * burst costs is search freshness: the index falls further behind, and catches up after.
 *
 * Only where the store's search writes run in a database server (`searchWritesInServer`,
 * PostgreSQL) by default: on SQLite they run in the niced thread itself, and resting would only
 * add lag. The node's view is its own: the node indexing for several (the search lease,
 * search-indexer.ts) yields to its own backlog, and to the CPUs it can see. PostgreSQL's, when
 * it runs elsewhere, it cannot: there `backlog` (SEARCH_YIELD_CHOICES) yields on the backlog
 * alone, with the same bound.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { cpuSpareSampler } from '../core/cpu-spare-sampler.ts';
import type { Store } from '../store/store.ts';

/** Below this share of CPU time spare, the machine counts as having none to spare. */
export const DEFAULT_SATURATED_BELOW_SPARE_SHARE = 0.1;
/** While yielding, a rest lasts this many times the chunk before it. */
export const DEFAULT_REST_PER_CHUNK_TIME = 3;
/** The longest rest, so that a log's index moves at least about once a second even then. */
export const DEFAULT_MAX_REST_MS = 1000;
/** How long after its first rest a log stops being rested for, until its index has caught up. */
export const DEFAULT_MAX_YIELD_MS = 60_000;
/**
 * A backlog reported longer ago than this is not believed: a backlog means another commit
 * follows as soon as the one under way ends, and reports again; silence means the node stopped
 * accepting. Generous, because one commit can take seconds on a loaded machine (a store
 * stalled, a lock waited for), and a stale belief costs only rests of at most a second.
 */
export const DEFAULT_BACKLOG_FRESH_MS = 5000;

/** How a node paces search (NodeConfig.searchPacing); plain data, as it crosses to the indexer thread. */
export interface SearchPacingConfig {
  /**
   * Whether search yields to ingest at all. Default: where the store's search writes run in a
   * database server (PostgreSQL), and not on SQLite. Example: `false`, to keep search as fresh
   * as the machine allows even while a burst is accepted more slowly.
   */
  enabled?: boolean;
  /**
   * Instead of reading this machine's CPUs, take this share of CPU time as spare. Default: read
   * them. 0 makes search yield on this node's ingest backlog alone (`--search-yield backlog`):
   * for PostgreSQL on another machine, whose CPUs the node cannot see.
   */
  assumeSpareShare?: number;
}

/** The `--search-yield` choices, and the configuration each stands for. */
export const SEARCH_YIELD_CHOICES = {
  /** On with PostgreSQL, off with SQLite, gated on this machine's CPU. */
  auto: {},
  on: { enabled: true },
  off: { enabled: false },
  /** As auto (off with SQLite, where resting only adds lag), gated on this node's backlog alone. */
  backlog: { assumeSpareShare: 0 },
} as const satisfies Record<string, SearchPacingConfig>;

export interface SearchPacingOptions {
  /** The share of CPU time spare lately, 0 to 1 (default: this machine's, core/cpu-spare-sampler.ts). */
  spareShare?(): number;
  /** Default systemClock. */
  clock?: Clock;
}

export class SearchPacing {
  /** When the latest commit reported events still waiting; undefined if it reported none. */
  private backlogAt: number | undefined;
  /** When the indexer first rested for each log since that log last caught up. */
  private readonly yieldingSince = new Map<string, number>();
  private readonly spareShare: () => number;
  private readonly clock: Clock;

  constructor(options: SearchPacingOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.spareShare = options.spareShare ?? cpuSpareSampler();
  }

  /** After a commit: whether events were still waiting for the next one (a backlog). */
  noteBacklog(backlog: boolean): void {
    this.backlogAt = backlog ? this.clock.now() : undefined;
  }

  /** The log's search index reached the log's size: it may be rested for afresh. */
  caughtUp(projectId: string): void {
    this.yieldingSince.delete(projectId);
  }

  /**
   * How long to rest after a chunk of the log that took `chunkMs`, with more left to index: 0
   * unless yielding (see the top).
   */
  restAfter(projectId: string, chunkMs: number): number {
    const now = this.clock.now();
    if (this.backlogAt === undefined || now - this.backlogAt > DEFAULT_BACKLOG_FRESH_MS) return 0;
    const since = this.yieldingSince.get(projectId);
    if (since !== undefined && now - since > DEFAULT_MAX_YIELD_MS) return 0;
    if (this.spareShare() >= DEFAULT_SATURATED_BELOW_SPARE_SHARE) return 0;
    if (since === undefined) this.yieldingSince.set(projectId, now);
    return Math.min(DEFAULT_MAX_REST_MS, DEFAULT_REST_PER_CHUNK_TIME * chunkMs);
  }
}

/** The pacing a node's indexer over `store` uses, from its configuration; undefined: it never yields. */
export function searchPacingFor(store: Store, config: SearchPacingConfig = {}): SearchPacing | undefined {
  if (!(config.enabled ?? store.capabilities.searchWritesInServer)) return undefined;
  const assumed = config.assumeSpareShare;
  return new SearchPacing(assumed === undefined ? {} : { spareShare: () => assumed });
}
