/**
 * When search indexing yields to ingest.
 *
 * Indexing an event for search costs about twice what accepting it does (on PostgreSQL, about
 * 110 µs in the database and 60 µs in the node's search thread, against about 80 µs in all to
 * accept one, measured on two cores). The node's search thread already runs at a lower priority
 * (search-indexer-worker.ts), but its database work cannot: a PostgreSQL backend writing search
 * rows competes with the one appending events as an equal. On a saturated machine a burst was
 * therefore accepted a quarter slower than with search held off (18,400 against 24,400 events/s,
 * one node, batches of 100), while the index still fell behind by most of the burst.
 *
 * So search yields to events waiting for a commit, but only to them, and only when the machine
 * has no CPU to spare: while the node's sequencer reports a backlog and less than a tenth of the
 * machine's CPU time is idle, the indexer rests after each chunk for three times as long as the
 * chunk took, spending at most a quarter of its time indexing. When either ends it indexes at full
 * pace again; under a load the machine can carry, search keeps up as it did. What it costs is
 * search freshness during a burst: the index falls further behind, and catches up once the
 * burst is over. The node's view is its own: the node that indexes for several (search lease,
 * search-indexer.ts) yields to its own backlog, and to the CPUs it can see.
 */
import { cpuIdleSampler } from '../core/cpu-idle.ts';

/** Below this share of CPU time idle, the machine counts as having none to spare. */
const SATURATED_BELOW_IDLE_SHARE = 0.1;
/** While yielding, a rest lasts this many times the chunk before it: a quarter of the time indexing. */
const REST_PER_CHUNK_TIME = 3;
/** The longest rest, so that a log's index moves at least about once a second even then. */
const MAX_REST_MS = 1000;
/**
 * A backlog reported longer ago than this is not believed: a backlog means another commit
 * follows at once, which reports again, so silence means the node stopped accepting.
 */
const BACKLOG_FRESH_MS = 1000;

export interface SearchPacingOptions {
  /** The share of CPU time idle lately, 0 to 1 (default: this machine's, core/cpu-idle.ts). */
  idleShare?(): number;
  /** Milliseconds, for the age of a backlog report (default Date.now). */
  now?(): number;
}

export class SearchPacing {
  /** When the latest commit reported events still waiting; undefined if it reported none. */
  private backlogAt: number | undefined;
  private readonly idleShare: () => number;
  private readonly now: () => number;

  constructor(options: SearchPacingOptions = {}) {
    this.now = options.now ?? Date.now;
    this.idleShare = options.idleShare ?? cpuIdleSampler();
  }

  /** After a commit: whether events were still waiting for the next one (a backlog). */
  noteBacklog(backlog: boolean): void {
    this.backlogAt = backlog ? this.now() : undefined;
  }

  /** How long to rest after a chunk that took `chunkMs`: 0 unless yielding (see the top). */
  restAfter(chunkMs: number): number {
    if (this.backlogAt === undefined || this.now() - this.backlogAt > BACKLOG_FRESH_MS) return 0;
    if (this.idleShare() >= SATURATED_BELOW_IDLE_SHARE) return 0;
    return Math.min(MAX_REST_MS, REST_PER_CHUNK_TIME * chunkMs);
  }
}
