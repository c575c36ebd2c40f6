/**
 * Cuts a PutLogEvents call out of the events waiting, within every limit of the API
 * (spec/cloudtrail.md §7): at most 10,000 events; Σ(UTF-8 bytes of message + 26) at most
 * 1,048,576; timestamps in chronological order, spanning at most 24 hours; none more than
 * 2 hours ahead or older than 14 days. Pure: no I/O, the clock is an argument.
 */
import type { ForwardEvent } from './forward-event.ts';

export const PUT_LOG_EVENTS_MAX_EVENTS = 10_000;
export const PUT_LOG_EVENTS_MAX_BYTES = 1_048_576;
/** CloudWatch counts each event's message plus 26 bytes against the batch size. */
export const PUT_LOG_EVENTS_EVENT_OVERHEAD = 26;
export const PUT_LOG_EVENTS_MAX_SPAN_MS = 24 * 3600_000;
export const PUT_LOG_EVENTS_MAX_AGE_MS = 14 * 24 * 3600_000;
export const PUT_LOG_EVENTS_MAX_AHEAD_MS = 2 * 3600_000;
/** Safety margin kept inside the age and lead limits, for clock skew and time in flight. */
const MARGIN_MS = 10 * 60_000;

export interface LogEvent {
  timestamp: number;
  message: string;
}

export interface CutBatch {
  /** How many of the events (a prefix, in index order) this call carries. */
  count: number;
  /** The call's log events, in chronological order (stable for equal times). */
  logEvents: LogEvent[];
  /** Events whose time was moved into CloudWatch's window (their message keeps the truth). */
  clamped: number;
  /** Events whose message was replaced by a stub because it alone exceeded the size limit. */
  stubbed: number;
}

/**
 * The event time CloudWatch gets is `receivedAt`: it follows index order, so batches stay
 * chronological, and it is Veritrail's own clock, not a client's. A backlog older than 14 days
 * (a long outage) is re-stamped just inside the window rather than dropped: an audit trail with
 * a silent gap is worse than one whose CloudWatch time is late.
 */
export function cutBatch(events: readonly ForwardEvent[], message: (e: ForwardEvent) => string, nowMs: number): CutBatch {
  const oldest = nowMs - PUT_LOG_EVENTS_MAX_AGE_MS + MARGIN_MS;
  const newest = nowMs + PUT_LOG_EVENTS_MAX_AHEAD_MS - MARGIN_MS;
  const logEvents: LogEvent[] = [];
  let bytes = 0;
  let min = Infinity;
  let max = -Infinity;
  let clamped = 0;
  let stubbed = 0;
  for (const e of events) {
    if (logEvents.length === PUT_LOG_EVENTS_MAX_EVENTS) break;
    const received = Date.parse(e.receivedAt);
    const timestamp = Math.min(newest, Math.max(oldest, received));
    let text = message(e);
    let size = Buffer.byteLength(text, 'utf8') + PUT_LOG_EVENTS_EVENT_OVERHEAD;
    const tooLarge = size > PUT_LOG_EVENTS_MAX_BYTES;
    if (tooLarge) {
      text = stub(e, size);
      size = Buffer.byteLength(text, 'utf8') + PUT_LOG_EVENTS_EVENT_OVERHEAD;
    }
    if (logEvents.length > 0) {
      if (bytes + size > PUT_LOG_EVENTS_MAX_BYTES) break;
      if (Math.max(max, timestamp) - Math.min(min, timestamp) > PUT_LOG_EVENTS_MAX_SPAN_MS) break;
    }
    if (tooLarge) stubbed++;
    if (timestamp !== received) clamped++;
    bytes += size;
    min = Math.min(min, timestamp);
    max = Math.max(max, timestamp);
    logEvents.push({ timestamp, message: text });
  }
  const count = logEvents.length;
  // Array.prototype.sort is stable: equal times keep index order.
  return { count, logEvents: logEvents.sort((a, b) => a.timestamp - b.timestamp), clamped, stubbed };
}

/** What replaces a message too large for CloudWatch: enough to fetch and prove the event. */
function stub(e: ForwardEvent, size: number): string {
  return JSON.stringify({ veritrailStub: 'message larger than CloudWatch Logs allows', index: e.index, eventId: e.eventId, projectId: e.projectId, receivedAt: e.receivedAt, bytes: size });
}
