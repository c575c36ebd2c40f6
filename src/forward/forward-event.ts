/**
 * One log entry as the sinks see it: its index, the parsed envelope and its leaf hash, so a
 * receiver can ask Veritrail for an inclusion proof of exactly what it was sent.
 */
import { createHash } from 'node:crypto';
import { eventTextOf, parseEnvelope } from '../core/envelope.ts';
import type { StoredEntry } from '../store/store.ts';

export interface ForwardEvent {
  index: number;
  eventId: string;
  projectId: string;
  receivedAt: string;
  /** The client's event object, unchanged. */
  event: Record<string, unknown>;
  /** The envelope's bytes as stored (and hashed). */
  envelope: Buffer;
}

const TAIL_MARK = Buffer.from(',"eventId":');

/**
 * The entry as a ForwardEvent. The envelope's canonical key order puts `event` first and the
 * three short members last (core/envelope.ts), so only that tail is parsed here; the event
 * itself is parsed on first use, which formats that copy the envelope's bytes never need.
 */
export function forwardEvent(entry: StoredEntry): ForwardEvent {
  const envelope = entry.envelope;
  const cut = envelope.lastIndexOf(TAIL_MARK);
  const tail = JSON.parse(`{${envelope.toString('utf8', cut + 1)}`) as { eventId: string; projectId: string; receivedAt: string };
  let event: Record<string, unknown> | undefined;
  return {
    index: entry.index,
    eventId: tail.eventId,
    projectId: tail.projectId,
    receivedAt: tail.receivedAt,
    envelope,
    get event() {
      return (event ??= parseEnvelope(envelope).event);
    },
  };
}

const LEAF_PREFIX = Buffer.from([0]);

/** The RFC 6962 leaf hash, SHA-256(0x00 || envelope), in hex (the native API's `leafHash`). */
export function leafHashHex(e: ForwardEvent): string {
  return createHash('sha256').update(LEAF_PREFIX).update(e.envelope).digest('hex');
}

/**
 * Veritrail's JSON line for an event: the fields of the native API's event results and export
 * lines (spec/api.md), so one parser reads all three.
 */
export function jsonLine(e: ForwardEvent): string {
  // The event's text cut from the envelope keeps it exactly as committed (key order, number
  // forms) and avoids a second stringify.
  return `{"index":${e.index},"eventId":${JSON.stringify(e.eventId)},"projectId":"${e.projectId}","receivedAt":"${e.receivedAt}","leafHash":"${leafHashHex(e)}","event":${eventTextOf(e.envelope)}}`;
}
