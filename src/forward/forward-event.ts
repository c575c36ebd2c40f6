/**
 * One log entry as the sinks see it: its index, the parsed envelope and its leaf hash, so a
 * receiver can ask Veritrail for an inclusion proof of exactly what it was sent.
 */
import { hash } from 'node:crypto';
import { parseEnvelope } from '../core/envelope.ts';
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

export function forwardEvent(entry: StoredEntry): ForwardEvent {
  const envelope = parseEnvelope(entry.envelope);
  return { index: entry.index, eventId: envelope.eventId, projectId: envelope.projectId, receivedAt: envelope.receivedAt, event: envelope.event, envelope: entry.envelope };
}

/** The RFC 6962 leaf hash, SHA-256(0x00 || envelope), in hex (the native API's `leafHash`). */
export function leafHashHex(e: ForwardEvent): string {
  return hash('sha256', Buffer.concat([Buffer.from([0]), e.envelope]), 'hex');
}

/**
 * Veritrail's JSON line for an event: the fields of the native API's event results and export
 * lines (spec/api.md), so one parser reads all three.
 */
export function jsonLine(e: ForwardEvent): string {
  // The envelope's canonical bytes already hold `"event":{...}` first; reusing them keeps the
  // event exactly as committed (key order, number forms) and avoids a second stringify.
  const text = e.envelope.toString('utf8');
  const eventText = text.slice('{"event":'.length, text.lastIndexOf(',"eventId":'));
  return `{"index":${e.index},"eventId":${JSON.stringify(e.eventId)},"projectId":"${e.projectId}","receivedAt":"${e.receivedAt}","leafHash":"${leafHashHex(e)}","event":${eventText}}`;
}
