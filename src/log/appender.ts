/**
 * The one way events enter a log, whichever API they came through. It enforces, once and above
 * every store engine (STYLE.md §6), the rules spec/api.md gives for ingest: batch and event size
 * limits, all-or-nothing batches whose refusal names each bad event, pushback when the
 * sequencer is behind, and receipts only after the durable commit (the sequencer's promise).
 */
import {
  VT_ERR_BATCH_INVALID,
  VT_ERR_BATCH_TOO_MANY,
  VT_ERR_BODY_NOT_EVENTS,
  VT_ERR_BODY_NOT_JSON,
  VT_ERR_EVENT_TOO_LARGE,
  VT_ERR_STORE_BUSY,
  withDetails,
  type VeritrailError,
} from '../core/errors.ts';
import type { Checkpointer } from './checkpointer.ts';
import {
  DEFAULT_MAX_EVENT_BYTES,
  DEFAULT_MAX_EVENTS_PER_REQUEST,
  prepareBody,
  prepareEvents,
  type BodyKind,
  type PrepareLimits,
  type PrepareOutcome,
  type PreparedEvent,
} from './prepare.ts';
import { DEFAULT_PREPARE_WORKER_MIN_BYTES, defaultPrepareWorkers, PreparePool } from './prepare-pool.ts';
import type { Receipt, Sequencer } from './sequencer.ts';
import type { TreeReader } from './tree-reader.ts';

export { DEFAULT_MAX_EVENTS_PER_REQUEST };
/**
 * Events queued for the sequencer beyond which new requests get 503 + Retry-After instead of
 * waiting. Bounds memory under any load: about 1 KiB per queued event plus its request.
 */
export const DEFAULT_MAX_QUEUED_EVENTS = 20_000;
/** Seconds a refused client is asked to wait. */
const RETRY_AFTER_SECONDS = 1;

export interface AppenderOptions {
  maxEventsPerRequest?: number;
  maxEventBytes?: number;
  maxQueuedEvents?: number;
  /** Worker threads that prepare large bodies; 0 prepares everything inline. Default: cores - 1. */
  prepareWorkers?: number;
  /** Bodies at least this large go to a worker. Default DEFAULT_PREPARE_WORKER_MIN_BYTES. */
  prepareWorkerMinBytes?: number;
}

/** A receipt with what `?wait=checkpoint` adds. */
export interface AppendReceipt extends Receipt {
  checkpoint?: string;
  inclusionProof?: Buffer[];
}

export class Appender {
  private readonly limits: PrepareLimits;
  private readonly maxQueuedEvents: number;
  private readonly pool: PreparePool | undefined;
  private readonly poolMinBytes: number;

  constructor(
    private readonly sequencer: Sequencer,
    private readonly checkpointer: Checkpointer,
    private readonly reader: TreeReader,
    options: AppenderOptions = {},
  ) {
    this.limits = {
      maxEvents: options.maxEventsPerRequest ?? DEFAULT_MAX_EVENTS_PER_REQUEST,
      maxEventBytes: options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    };
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
    const workers = options.prepareWorkers ?? defaultPrepareWorkers();
    this.pool = workers > 0 ? new PreparePool(workers) : undefined;
    this.poolMinBytes = options.prepareWorkerMinBytes ?? DEFAULT_PREPARE_WORKER_MIN_BYTES;
  }

  /**
   * Parses, validates and prepares a raw request body (a worker does it for large bodies).
   * Throws the request's 4xx error, having queued nothing.
   */
  async prepareBody(projectId: string, body: Uint8Array, kind: BodyKind, receivedAt: string): Promise<{ single: boolean; events: PreparedEvent[] }> {
    const outcome =
      this.pool && body.byteLength >= this.poolMinBytes
        ? await this.pool.prepare(projectId, body, kind, receivedAt, this.limits)
        : prepareBody(projectId, body, kind, receivedAt, this.limits);
    return accepted(outcome, this.limits);
  }

  /** Validates and prepares events that are already plain JSON values. Throws the 4xx error. */
  prepare(projectId: string, events: readonly unknown[], receivedAt: string): PreparedEvent[] {
    return accepted(prepareEvents(projectId, events, receivedAt, this.limits), this.limits).events;
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  /** Sequences prepared events; resolves once they are durably in the log. */
  async append(projectId: string, events: PreparedEvent[], options: { waitForCheckpoint?: boolean } = {}): Promise<AppendReceipt[]> {
    if (this.sequencer.depth + events.length > this.maxQueuedEvents) {
      const error = new VT_ERR_STORE_BUSY(RETRY_AFTER_SECONDS);
      error.headers = { 'retry-after': String(RETRY_AFTER_SECONDS) };
      throw error;
    }
    const receipts: AppendReceipt[] = await this.sequencer.submit(projectId, events);
    this.checkpointer.markDirty(projectId);
    if (!options.waitForCheckpoint || receipts.length === 0) return receipts;

    const needed = Math.max(...receipts.map((r) => r.index)) + 1;
    const checkpoint = await this.checkpointer.waitFor(projectId, needed);
    return Promise.all(
      receipts.map(async (receipt) => ({
        ...receipt,
        checkpoint: checkpoint.note,
        inclusionProof: await this.reader.inclusionProof(projectId, receipt.index, checkpoint.treeSize),
      })),
    );
  }
}

/** The events of an accepted outcome, or the catalogued error of a refused one. */
function accepted(outcome: PrepareOutcome, limits: PrepareLimits): { single: boolean; events: PreparedEvent[] } {
  if (outcome.ok) return outcome;
  switch (outcome.reason) {
    case 'not-json':
      throw new VT_ERR_BODY_NOT_JSON(outcome.message);
    case 'not-events':
      throw new VT_ERR_BODY_NOT_EVENTS();
    case 'too-many':
      throw new VT_ERR_BATCH_TOO_MANY(limits.maxEvents, outcome.count);
    case 'invalid':
      throw withDetails(new VT_ERR_BATCH_INVALID(outcome.details.length), outcome.details);
    case 'oversize': {
      const error: VeritrailError = new VT_ERR_EVENT_TOO_LARGE(outcome.firstField, outcome.firstBytes, limits.maxEventBytes);
      throw withDetails(error, outcome.details);
    }
  }
}
