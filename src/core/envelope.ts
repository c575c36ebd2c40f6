/**
 * The envelope is the log entry: the RFC 8785 bytes of
 * `{"eventId", "projectId", "receivedAt", "event"}` where `event` is the client's object unchanged
 * (spec/api.md "Ingest"). Its keys in canonical order are event < eventId < projectId <
 * receivedAt, so the envelope is written around the event's canonical text without
 * re-canonicalising the event.
 */
import { canonicalize } from './canonical-json.ts';

/** Event ids longer than this are refused: they are index keys, not payload. */
export const MAX_EVENT_ID_LENGTH = 256;

export interface Envelope {
  eventId: string;
  projectId: string;
  receivedAt: string;
  event: Record<string, unknown>;
}

/**
 * The event's own id: its `eventID` string field (CloudTrail), else its `eventId`, else
 * undefined. Returns an Error for a present but unusable id.
 */
export function ownEventId(event: Record<string, unknown>): string | undefined | Error {
  const id = typeof event.eventID === 'string' ? event.eventID : typeof event.eventId === 'string' ? event.eventId : undefined;
  if (id === undefined) return undefined;
  if (id.length === 0 || id.length > MAX_EVENT_ID_LENGTH) {
    return new Error(`its event id must be 1 to ${MAX_EVENT_ID_LENGTH} characters long`);
  }
  return id;
}

/** The envelope text, given the event's canonical text. */
export function envelopeText(eventCanonical: string, eventId: string, projectId: string, receivedAt: string): string {
  return `{"event":${eventCanonical},"eventId":${JSON.stringify(eventId)},"projectId":"${projectId}","receivedAt":"${receivedAt}"}`;
}

/** The envelope bytes of a whole envelope object (for tools that hold a parsed one). */
export function envelopeBytes(envelope: Envelope): Buffer {
  return Buffer.from(envelopeText(canonicalize(envelope.event), envelope.eventId, envelope.projectId, envelope.receivedAt), 'utf8');
}

/** Parses stored envelope bytes. */
export function parseEnvelope(bytes: Buffer | Uint8Array): Envelope {
  return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as Envelope;
}

const RECEIVED_AT_MARK = Buffer.from(',"receivedAt":"');

/**
 * True when two envelopes hold the same event under the same id and project, whenever each was
 * received: de-duplication compares content, and receivedAt is the server's, not the client's.
 * receivedAt is the last member, so everything before it must match byte for byte.
 */
export function sameEventContent(a: Buffer, b: Buffer): boolean {
  const cutA = a.lastIndexOf(RECEIVED_AT_MARK);
  const cutB = b.lastIndexOf(RECEIVED_AT_MARK);
  return cutA > 0 && cutA === cutB && a.subarray(0, cutA).equals(b.subarray(0, cutB));
}

const EVENT_MARK = '{"event":';
const EVENT_ID_MARK = Buffer.from(',"eventId":');

/**
 * The event's canonical JSON exactly as stored, cut out of the envelope bytes (whose layout
 * envelopeText fixes) rather than re-serialised, which could reorder integer-like member names.
 * The last `,"eventId":` is the envelope's own: the event may hold the sequence (a member named
 * eventId), but after the envelope's come only the id's JSON string (where it would need an
 * unescaped quote), projectId and receivedAt.
 */
export function eventTextOf(envelope: Buffer): string {
  const end = envelope.lastIndexOf(EVENT_ID_MARK);
  if (envelope.subarray(0, EVENT_MARK.length).toString('latin1') !== EVENT_MARK || end < 0) throw new Error('not an envelope');
  return envelope.subarray(EVENT_MARK.length, end).toString('utf8');
}
