/**
 * The one way events enter a log, whichever API they came through. It holds, once and above
 * every store engine (STYLE.md §6), the per-request limits every preparation path applies
 * (prepare.ts enforces them: batch and event sizes, all-or-nothing batches whose refusal names
 * each bad event), pushes back when the sequencer is behind, and returns receipts only after
 * the durable commit (the sequencer's promise).
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
  isDropped,
  prepareEvents,
  type PrepareLimits,
  type PrepareOutcome,
  type PreparedEvent,
  type PreparedItem,
} from './prepare.ts';
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
  maxQueuedEvents?: number;
}

/** A receipt with what `?wait=checkpoint` adds. */
export interface AppendReceipt extends Receipt {
  checkpoint?: string;
  inclusionProof?: Buffer[];
}

export class Appender {
  /** The per-request limits every preparation path applies (spec/api.md "Ingest"). */
  readonly limits: PrepareLimits;
  private readonly maxQueuedEvents: number;

  constructor(
    private readonly sequencer: Sequencer,
    private readonly checkpointer: Checkpointer,
    private readonly reader: TreeReader,
    options: AppenderOptions = {},
  ) {
    this.limits = { maxEvents: DEFAULT_MAX_EVENTS_PER_REQUEST, maxEventBytes: DEFAULT_MAX_EVENT_BYTES };
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  /**
   * Validates and prepares events that are already plain JSON values, all to be recorded (no
   * audit policy: Veritrail's own records). Throws the request's 4xx error.
   */
  prepare(projectId: string, events: readonly unknown[], receivedAt: string): PreparedEvent[] {
    return accepted(prepareEvents(projectId, events, receivedAt, this.limits), this.limits).items.filter((item): item is PreparedEvent => !isDropped(item));
  }

  /** Sequences prepared events; resolves once they are durably in the log. */
  async append(projectId: string, events: PreparedEvent[], options: { waitForCheckpoint?: boolean } = {}): Promise<AppendReceipt[]> {
    if (this.sequencer.depth + events.length > this.maxQueuedEvents) throw new VT_ERR_STORE_BUSY(RETRY_AFTER_SECONDS);
    // The checkpointer learns of the growth from the sequencer's onCommitted (api/node.ts).
    const receipts: AppendReceipt[] = await this.sequencer.submit(projectId, events);
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

/** The items of an accepted outcome, or the catalogued 4xx error of a refused one. */
export function accepted(outcome: PrepareOutcome, limits: PrepareLimits): { single: boolean; items: PreparedItem[] } {
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
