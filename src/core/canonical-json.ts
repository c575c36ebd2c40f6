/**
 * RFC 8785 (JSON Canonicalization Scheme) for values produced by `JSON.parse`.
 *
 * Leaves use the engine's own `JSON.stringify`, which already writes JCS strings and numbers
 * (RFC 8785 §3.2.2.2 and §3.2.2.3 follow ECMAScript). Object members are sorted by UTF-16 code
 * units, which is what `Array.prototype.sort` does by default (§3.2.3).
 *
 * Why two paths: ingest spends more time here than anywhere else. Rebuilding only the objects
 * whose keys are out of order and letting the native serialiser write the value once was about
 * 1.4x faster than writing the text piece by piece in JavaScript when measured (7 µs against
 * 10 µs for a 1 KiB CloudTrail record), and rebuilding them as plain objects made it faster
 * again (sorted()). The native path cannot express two cases: V8
 * enumerates integer-like keys first, in numeric order, whatever the insertion order, while
 * RFC 8785 puts "10" before "9"; and a rebuilt object cannot take a member named "__proto__".
 * Such values are written by the plain recursive writer instead.
 */

/** Nesting deeper than this is refused, so a hostile body cannot exhaust the stack. */
export const MAX_CANONICAL_DEPTH = 128;

export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
}

/** Returns the RFC 8785 text of `value`. Throws CanonicalJsonError for a value JSON cannot hold. */
export function canonicalize(value: unknown): string {
  try {
    return JSON.stringify(sorted(value, 0));
  } catch (error) {
    if (error !== NEEDS_HAND_WRITING) throw error;
    return written(value, 0);
  }
}

/** The canonical UTF-8 bytes of `value`. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}

const NEEDS_HAND_WRITING = Symbol('needs hand writing');

function checkedLeaf(value: unknown, depth: number): 'leaf' | 'array' | 'object' {
  switch (typeof value) {
    case 'string':
      // JSON.stringify would escape a lone surrogate; RFC 8785 §3.2.2.2 makes it an error.
      if (!value.isWellFormed()) throw new CanonicalJsonError('a string contains a lone surrogate');
      return 'leaf';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError('a number is not finite');
      return 'leaf';
    case 'boolean':
      return 'leaf';
    case 'object':
      if (value === null) return 'leaf';
      if (depth >= MAX_CANONICAL_DEPTH) throw new CanonicalJsonError(`nesting is deeper than ${MAX_CANONICAL_DEPTH}`);
      return Array.isArray(value) ? 'array' : 'object';
    default:
      throw new CanonicalJsonError(`a ${typeof value} is not a JSON value`);
  }
}

/** The value with every object's members in canonical order; shares unchanged parts. */
function sorted(value: unknown, depth: number): unknown {
  const kind = checkedLeaf(value, depth);
  if (kind === 'leaf') return value;
  if (kind === 'array') {
    const array = value as unknown[];
    let copy: unknown[] | undefined;
    for (let i = 0; i < array.length; i++) {
      const after = sorted(array[i], depth + 1);
      if (after !== array[i]) (copy ??= array.slice())[i] = after;
    }
    return copy ?? array;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1]! < keys[i]!;
  if (!inOrder) keys.sort();
  let changed = !inOrder;
  const values = new Array<unknown>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const before = object[keys[i]!];
    values[i] = sorted(before, depth + 1);
    if (values[i] !== before) changed = true;
  }
  if (!changed) return object;
  // A plain object, not Object.create(null): V8 keeps that one in dictionary mode, which
  // JSON.stringify enumerates and sorts slowly (canonicalize went from 10.6 to 7.9 µs for the
  // bench's 1 KiB CloudTrail records). Assigning "__proto__" to it would set its prototype
  // instead of adding a member, so an object with that member is written by hand.
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === '__proto__') throw NEEDS_HAND_WRITING;
    out[keys[i]!] = values[i];
  }
  if (!inOrder) {
    const enumerated = Object.keys(out);
    for (let i = 0; i < keys.length; i++) if (enumerated[i] !== keys[i]) throw NEEDS_HAND_WRITING;
  }
  return out;
}

/** The plain recursive writer, used only when V8's key order cannot be made canonical. */
function written(value: unknown, depth: number): string {
  const kind = checkedLeaf(value, depth);
  if (kind === 'leaf') return JSON.stringify(value);
  if (kind === 'array') return '[' + (value as unknown[]).map((item) => written(item, depth + 1)).join(',') + ']';
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  return '{' + keys.map((key) => JSON.stringify(key) + ':' + written(object[key], depth + 1)).join(',') + '}';
}
