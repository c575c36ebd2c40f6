/**
 * The one way events enter a log, whichever API they came through. Once and above every store
 * engine (STYLE.md §6), it pushes back when the sequencer is behind and returns receipts only
 * after the durable commit (the sequencer's promise). Events reach it prepared within
 * prepare.ts's INGEST_LIMITS (batch and event sizes, all-or-nothing batches whose refusal names
 * each bad event): by `prepare` here, or by api/ingest for request bodies.
 */
import { VT_ERR_STORE_BUSY } from '../core/errors.ts';
import type { Checkpointer } from './checkpointer.ts';
import { accepted, INGEST_LIMITS, prepareEvents, type PreparedEvent } from './prepare.ts';
import type { Receipt, Sequencer } from './sequencer.ts';
import type { TreeReader } from './tree-reader.ts';

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
  private readonly maxQueuedEvents: number;

  constructor(
    private readonly sequencer: Sequencer,
    private readonly checkpointer: Checkpointer,
    private readonly reader: TreeReader,
    options: AppenderOptions = {},
  ) {
    this.maxQueuedEvents = options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS;
  }

  /**
   * Validates and prepares events that are already plain JSON values, all to be recorded (no
   * audit policy: Veritrail's own records). Throws the request's 4xx error.
   */
  prepare(projectId: string, events: readonly unknown[], receivedAt: string): PreparedEvent[] {
    // With no drop decider, prepareEvents drops nothing: every item is a PreparedEvent.
    return accepted(prepareEvents(projectId, events, receivedAt, INGEST_LIMITS)).items as PreparedEvent[];
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
