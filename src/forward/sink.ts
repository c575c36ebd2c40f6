/**
 * What every destination kind implements. The destination worker owns the cursor, ordering and
 * retries; a sink only turns events into one delivery attempt.
 */
import type { ForwardEvent } from './forward-event.ts';

export interface Sink {
  /**
   * Delivers a prefix of `events` (in index order, at least one) and resolves with how many it
   * delivered. MUST NOT resolve before the receiver accepted them (an HTTP 2xx, a flushed
   * socket write). Throws on failure; the worker then offers the same events again.
   */
  deliver(events: readonly ForwardEvent[], signal: AbortSignal): Promise<number>;
  /** Releases connections. Safe to call more than once. */
  close(): Promise<void>;
  /** Counters a sink keeps beyond delivered events (e.g. events CloudWatch refused). */
  readonly notes?: Record<string, number>;
}

/** A failed delivery, with what the worker shows as the destination's last error. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    /** A short sentence for people (Qumulo's `error_message`). */
    message: string,
    /** The technical detail (Qumulo's `error_details`): the peer's error type and text. */
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The detail of any error, for DeliveryError.details. */
export function errorDetail(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' && code !== error.name ? ` (${code})` : ''}: ${error.message}`;
  }
  return String(error);
}
