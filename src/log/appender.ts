/**
 * The one way events enter a log, whichever API they came through. It enforces, once and above
 * every store engine (STYLE.md §6), the rules spec/api.md gives for ingest: batch and event size
 * limits, all-or-nothing batches whose refusal names each bad event, pushback when the
 * sequencer is behind, and receipts only after the durable commit (the sequencer's promise).
 */
import {
  VT_ERR_BATCH_INVALID,
  VT_ERR_BATCH_TOO_MANY,
  VT_ERR_EVENT_TOO_LARGE,
  VT_ERR_STORE_BUSY,
  withDetails,
  type VeritrailError,
} from '../core/errors.ts';
import type { Checkpointer } from './checkpointer.ts';
import { DEFAULT_MAX_EVENT_BYTES, prepareEvents, type PreparedEvent } from './prepare.ts';
import type { Receipt, Sequencer } from './sequencer.ts';
import type { TreeReader } from './tree-reader.ts';

/** The most events one request may carry (spec/api.md). */
export const DEFAULT_MAX_EVENTS_PER_REQUEST = 10_000;
/**
 * Events queued for the sequencer beyond which new requests get 503 + Retry-After instead of
 * waiting. Bounds memory under any load: about 1 KiB per queued event plus its request.
 */
export const DEFAULT_MAX_QUEUED_EVENTS = 50_000;
/** Seconds a refused client is asked to wait. */
const RETRY_AFTER_SECONDS = 1;

export interface AppenderOptions {
  maxEventsPerRequest?: number;
  maxEventBytes?: number;
  maxQueuedEvents?: number;
}

/** A receipt with what `?wait=checkpoint` adds. */
export interface AppendReceipt extends Receipt {
  checkpoint?: string;
  inclusionProof?: Buffer[];
}

export class Appender {
  private readonly maxEventsPerRequest: number;
  private readonly maxEventBytes: number;
  private readonly maxQueuedEvents: number;

  constructor(
    private readonly sequencer: Sequencer,
    private readonly checkpointer: Checkpointer,
    private readonly reader: TreeReader,
    options: AppenderOptions = {},
  ) {
    this.maxEventsPerRequest = options.maxEventsPerRequest ?? DEFAULT_MAX_EVENTS_PER_REQUEST;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  /**
   * Validates and prepares the events of one request (throws the request's 4xx error, having
   * queued nothing), then sequences them. Use this when events are still plain JSON values.
   */
  prepare(projectId: string, events: readonly unknown[], receivedAt: string): PreparedEvent[] {
    if (events.length > this.maxEventsPerRequest) throw new VT_ERR_BATCH_TOO_MANY(this.maxEventsPerRequest, events.length);
    const batch = prepareEvents(projectId, events, receivedAt, this.maxEventBytes);
    if (batch.oversize.length > 0) {
      const first = batch.oversize[0]!;
      const error: VeritrailError = new VT_ERR_EVENT_TOO_LARGE(first.field, first.bytes, this.maxEventBytes);
      throw withDetails(
        error,
        batch.oversize.map(({ field, problem }) => ({ field, problem })),
      );
    }
    if (batch.invalid.length > 0) throw withDetails(new VT_ERR_BATCH_INVALID(batch.invalid.length), batch.invalid);
    return batch.events;
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
