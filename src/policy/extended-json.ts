/**
 * MongoDB Extended JSON inside events and filters, decoded to the plain values the matcher
 * compares (spec/atlas.md §9.3.5): `{"$date": "…"}` becomes a Date, `{"$numberInt": "0"}` a
 * number, so `{"ts": {"$gte": {"$date": "…"}}}` compares dates, not strings.
 *
 * `bson`'s EJSON does the decoding; this file only finds the wrappers and turns BSON classes
 * into values mingo understands (it compares numbers, strings, Dates and RegExps, not `Long` or
 * `ObjectId` instances). Query operators that look like EJSON keys (`$regex`, `$options`,
 * `$type`) are left alone: only an object whose keys are all wrapper keys is a wrapper.
 */
import type { Binary, BSONRegExp, ObjectId } from 'bson';
import { lazyRequire } from '../core/lazy-require.ts';

/** Loaded when the first Extended JSON value is met (most events carry none). */
const bson = lazyRequire<typeof import('bson')>('bson');

/** Keys that make an object an Extended JSON value (canonical and relaxed, v2 and legacy). */
const WRAPPER_KEYS = new Set([
  '$date',
  '$numberLong',
  '$numberInt',
  '$numberDouble',
  '$numberDecimal',
  '$oid',
  '$binary',
  '$uuid',
  '$timestamp',
  '$minKey',
  '$maxKey',
  '$symbol',
  '$code',
  '$regularExpression',
  '$dbPointer',
  '$undefined',
]);
/** Keys that may accompany a wrapper key (legacy `$binary` + `$type`, `$code` + `$scope`). */
const COMPANION_KEYS = new Set(['$type', '$scope']);

function isWrapper(object: Record<string, unknown>): boolean {
  let wrapper = false;
  for (const key in object) {
    if (WRAPPER_KEYS.has(key)) wrapper = true;
    else if (!COMPANION_KEYS.has(key)) return false;
  }
  return wrapper;
}

/** A BSON class instance (`Long`, `ObjectId`, …) as the plain value mingo compares. */
function plainBson(value: { _bsontype: string }): unknown {
  switch (value._bsontype) {
    case 'Long':
    case 'Int32':
    case 'Double':
    case 'Decimal128':
      return Number(String(value));
    case 'ObjectId':
      return (value as ObjectId).toHexString();
    case 'BSONRegExp': {
      const { pattern, options } = value as BSONRegExp;
      try {
        return new RegExp(pattern, options.replace(/[^imsu]/g, ''));
      } catch {
        return value;
      }
    }
    case 'Binary': {
      const binary = value as Binary;
      return binary.sub_type === 4 ? binary.toUUID().toString() : binary.toString('base64');
    }
    default:
      return value;
  }
}

function decodeWrapper(object: Record<string, unknown>): unknown {
  try {
    const decoded = bson().EJSON.deserialize(object, { relaxed: true }) as unknown;
    if (decoded instanceof Date && Number.isNaN(decoded.getTime())) return object;
    return decoded !== null && typeof decoded === 'object' && '_bsontype' in decoded ? plainBson(decoded as { _bsontype: string }) : decoded;
  } catch {
    // `{"$date": "not a date"}` is data, not a date: keep it as the client sent it.
    return object;
  }
}

/**
 * `value` with every Extended JSON wrapper and BSON class decoded. Copy-on-write: objects with
 * nothing to decode are returned as they are, so a plain CloudTrail event costs one walk and no
 * allocation.
 */
export function decodeExtendedJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date || value instanceof RegExp) return value;
  if ('_bsontype' in value) return plainBson(value as { _bsontype: string });
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const decoded = decodeExtendedJson(value[i]);
      if (decoded !== value[i]) (out ??= value.slice())[i] = decoded;
    }
    return out ?? value;
  }
  const object = value as Record<string, unknown>;
  if (isWrapper(object)) return decodeWrapper(object);
  let out: Record<string, unknown> | undefined;
  for (const key in object) {
    const member = object[key];
    const decoded = decodeExtendedJson(member);
    // defineProperty, not assignment: a member named "__proto__" stays data (JSON.parse keeps it so).
    if (decoded !== member) Object.defineProperty((out ??= { ...object }), key, { value: decoded, writable: true, enumerable: true, configurable: true });
  }
  return out ?? object;
}
