/**
 * Turns posted events into log entries: the canonical envelope bytes and their leaf hash. This
 * is the CPU-heavy part of ingest (parsing, canonicalisation and hashing: about 15 µs per 1 KiB
 * event, more than the durable commit) and it has no shared state, so it runs before anything
 * is queued: inline for small bodies, in a worker thread for large ones (prepare-pool.ts).
 *
 * Everything here is pure and deterministic given its inputs, so the worker and the inline path
 * give identical results and identical refusals.
 */
import { canonicalize, CanonicalJsonError } from '../core/canonical-json.ts';
import { envelopeText, ownEventId } from '../core/envelope.ts';
import { newEventId } from '../core/ids.ts';
import {
  VT_ERR_BATCH_INVALID,
  VT_ERR_BATCH_TOO_MANY,
  VT_ERR_BODY_NOT_EVENTS,
  VT_ERR_BODY_NOT_JSON,
  VT_ERR_EVENT_TOO_LARGE,
  withDetails,
  type ErrorDetail,
} from '../core/errors.ts';
import { HASH_SIZE, leafHash } from './hashing.ts';

/** The largest event, in bytes of its canonical JSON (spec/api.md: 256 KiB). */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;
/** The most events one request may carry (spec/api.md). */
export const DEFAULT_MAX_EVENTS_PER_REQUEST = 10_000;

/** One event ready for the sequencer. */
export interface PreparedEvent {
  eventId: string;
  /** The RFC 8785 envelope: the exact bytes stored and hashed. */
  envelope: Buffer;
  leafHash: Buffer;
  receivedAt: string;
}

/** An event the project's audit configuration does not record: only its id and why. */
export interface DroppedEvent {
  eventId: string;
  dropped: string;
}

/** What preparation makes of each posted event, in the order posted. */
export type PreparedItem = PreparedEvent | DroppedEvent;

export function isDropped(item: PreparedItem): item is DroppedEvent {
  return 'dropped' in item;
}

/**
 * Decides whether a valid event is recorded: undefined records it, a string is the reason it is
 * dropped. Given the parsed event and its canonical text. The log layer knows nothing of audit
 * policy; whoever prepares events for a project passes its policy in this form.
 */
export type DropDecider = (event: Record<string, unknown>, canonical: string) => string | undefined;

export interface PrepareLimits {
  maxEventBytes: number;
  maxEvents: number;
}

/** The per-request limits every ingest path applies (spec/api.md "Ingest"); not configurable. */
export const INGEST_LIMITS: PrepareLimits = { maxEventBytes: DEFAULT_MAX_EVENT_BYTES, maxEvents: DEFAULT_MAX_EVENTS_PER_REQUEST };

/** How a body was framed: one JSON value, or one JSON object per line. */
export type BodyKind = 'json' | 'ndjson';

/** Why a request was refused; accepted() turns each into its catalogued error. */
export type PrepareRefusal =
  | { reason: 'not-json'; message: string }
  | { reason: 'not-events' }
  | { reason: 'too-many'; count: number }
  | { reason: 'invalid'; details: ErrorDetail[] }
  | { reason: 'oversize'; details: ErrorDetail[]; firstBytes: number; firstField: string };

export type PrepareOutcome = { ok: true; single: boolean; items: PreparedItem[] } | ({ ok: false } & PrepareRefusal);

/** Parses and prepares a raw request body. Never throws for bad input: it reports it. */
export function prepareBody(projectId: string, body: Uint8Array, kind: BodyKind, receivedAt: string, limits: PrepareLimits, decide?: DropDecider): PrepareOutcome {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let values: unknown[];
  let single = false;
  if (kind === 'ndjson') {
    values = [];
    const problems: ErrorDetail[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        values.push(JSON.parse(line));
      } catch (error) {
        problems.push({ field: `line ${i + 1}`, problem: `is not JSON: ${(error as Error).message}` });
      }
    });
    if (problems.length > 0) return { ok: false, reason: 'invalid', details: problems };
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return { ok: false, reason: 'not-json', message: text.trim() === '' ? 'the body is empty' : (error as Error).message };
    }
    if (Array.isArray(parsed)) values = parsed;
    else if (typeof parsed === 'object' && parsed !== null) {
      values = [parsed];
      single = true;
    } else return { ok: false, reason: 'not-events' };
  }
  if (values.length === 0) return { ok: false, reason: 'not-events' };
  const outcome = prepareEvents(projectId, values, receivedAt, limits, decide);
  return outcome.ok ? { ...outcome, single } : outcome;
}

/**
 * Prepares already-parsed events (self-audit records, dialects that parse their own bodies).
 * Every event is validated before any is dropped, so a batch holding a bad event is refused
 * whole, whatever `decide` would have made of it.
 */
export function prepareEvents(projectId: string, values: readonly unknown[], receivedAt: string, limits: PrepareLimits, decide?: DropDecider): PrepareOutcome {
  if (values.length > limits.maxEvents) return { ok: false, reason: 'too-many', count: values.length };
  const items: PreparedItem[] = [];
  const invalid: ErrorDetail[] = [];
  const oversize: Array<ErrorDetail & { bytes: number }> = [];
  values.forEach((event, i) => {
    const field = values.length === 1 ? 'body' : `[${i}]`;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      invalid.push({ field, problem: `is ${describe(event)}, not a JSON object` });
      return;
    }
    let canonical: string;
    try {
      canonical = canonicalize(event);
    } catch (error) {
      if (!(error instanceof CanonicalJsonError)) throw error;
      invalid.push({ field, problem: `cannot be canonicalised: ${error.message}` });
      return;
    }
    const bytes = Buffer.byteLength(canonical, 'utf8');
    if (bytes > limits.maxEventBytes) {
      oversize.push({ field, problem: `is ${bytes} bytes; the limit is ${limits.maxEventBytes}`, bytes });
      return;
    }
    const own = ownEventId(event as Record<string, unknown>);
    if (own instanceof Error) {
      invalid.push({ field, problem: own.message });
      return;
    }
    const eventId = own ?? newEventId();
    const dropped = decide?.(event as Record<string, unknown>, canonical);
    if (dropped !== undefined) {
      items.push({ eventId, dropped });
      return;
    }
    const envelope = Buffer.from(envelopeText(canonical, eventId, projectId, receivedAt), 'utf8');
    items.push({ eventId, envelope, leafHash: leafHash(envelope), receivedAt });
  });
  if (oversize.length > 0) {
    return { ok: false, reason: 'oversize', details: oversize.map(({ field, problem }) => ({ field, problem })), firstBytes: oversize[0]!.bytes, firstField: oversize[0]!.field };
  }
  if (invalid.length > 0) return { ok: false, reason: 'invalid', details: invalid };
  return { ok: true, single: values.length === 1, items };
}

/** The items of an outcome prepared with INGEST_LIMITS, or the catalogued 4xx error of a refused one. */
export function accepted(outcome: PrepareOutcome): { single: boolean; items: PreparedItem[] } {
  if (outcome.ok) return outcome;
  switch (outcome.reason) {
    case 'not-json':
      throw new VT_ERR_BODY_NOT_JSON(outcome.message);
    case 'not-events':
      throw new VT_ERR_BODY_NOT_EVENTS();
    case 'too-many':
      throw new VT_ERR_BATCH_TOO_MANY(INGEST_LIMITS.maxEvents, outcome.count);
    case 'invalid':
      throw withDetails(new VT_ERR_BATCH_INVALID(outcome.details.length), outcome.details);
    case 'oversize':
      throw withDetails(new VT_ERR_EVENT_TOO_LARGE(outcome.firstField, outcome.firstBytes, INGEST_LIMITS.maxEventBytes), outcome.details);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Packs prepared items into one ArrayBuffer, so a worker hands them over by transfer instead of
 * a structured clone of thousands of small objects. Layout: a u32 count, then per item a u8 kind
 * (0 prepared, 1 dropped), a u32 id length, a u32 second length and the UTF-8 id; a prepared
 * item follows with its envelope (second length) and 32-byte leaf hash, a dropped one with its
 * reason (second length, UTF-8).
 */
export function packItems(items: readonly PreparedItem[]): ArrayBuffer {
  const ids = items.map((item) => Buffer.from(item.eventId, 'utf8'));
  const seconds = items.map((item) => (isDropped(item) ? Buffer.from(item.dropped, 'utf8') : item.envelope));
  let size = 4;
  items.forEach((item, i) => (size += 9 + ids[i]!.length + seconds[i]!.length + (isDropped(item) ? 0 : HASH_SIZE)));
  const out = Buffer.from(new ArrayBuffer(size));
  let at = out.writeUInt32LE(items.length, 0);
  items.forEach((item, i) => {
    at = out.writeUInt8(isDropped(item) ? 1 : 0, at);
    at = out.writeUInt32LE(ids[i]!.length, at);
    at = out.writeUInt32LE(seconds[i]!.length, at);
    at += ids[i]!.copy(out, at);
    at += seconds[i]!.copy(out, at);
    if (!isDropped(item)) at += item.leafHash.copy(out, at);
  });
  return out.buffer as ArrayBuffer;
}

/** The inverse of packItems; envelopes and hashes are views into `packed`, not copies. */
export function unpackItems(packed: ArrayBuffer, receivedAt: string): PreparedItem[] {
  const data = Buffer.from(packed);
  const count = data.readUInt32LE(0);
  const items: PreparedItem[] = new Array(count);
  let at = 4;
  for (let i = 0; i < count; i++) {
    const dropped = data.readUInt8(at) === 1;
    const idLength = data.readUInt32LE(at + 1);
    const secondLength = data.readUInt32LE(at + 5);
    at += 9;
    const eventId = data.toString('utf8', at, at + idLength);
    at += idLength;
    if (dropped) {
      items[i] = { eventId, dropped: data.toString('utf8', at, at + secondLength) };
      at += secondLength;
      continue;
    }
    const envelope = data.subarray(at, at + secondLength);
    at += secondLength;
    items[i] = { eventId, envelope, leafHash: data.subarray(at, at + HASH_SIZE), receivedAt };
    at += HASH_SIZE;
  }
  return items;
}
