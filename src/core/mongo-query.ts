/**
 * MongoDB query documents (find()-style predicates), compiled once and evaluated in memory by
 * mingo, the well-kept evaluator DESIGN.md calls for. Used by search's `filter`. Audit-policy
 * filters (policy/audit-filter.ts) compile their own: they accept Atlas's relaxed shell syntax
 * and let operators Veritrail does not evaluate match nothing, where this compiler takes JSON
 * and refuses them. This compiler's rules:
 *  - operators that run code (`$where`, `$function`, `$accumulator`) are refused: mingo's
 *    `scriptEnabled` is off;
 *  - Extended JSON dates (`{"$date": "2026-01-01T00:00:00Z"}`, `{"$date": ms}`,
 *    `{"$date": {"$numberLong": "ms"}}`) are decoded to Dates on both sides, in the query and in
 *    the document, so `{"event.ts": {"$gte": {"$date": …}}}` compares times, not strings
 *    (spec/atlas.md §9.3 item 5). Other Extended JSON wrappers are left as they are.
 *  - whole-subdocument equality ignores member order (mingo compares deeply), a documented
 *    deviation from MongoDB (spec/atlas.md §9.3 item 6).
 */
import type { Query } from 'mingo';
import { lazyRequire } from './lazy-require.ts';

const mingo = lazyRequire<typeof import('mingo')>('mingo');
import { readTime } from './event-fields.ts';

/** A query document that does not compile; `message` is the parser's reason. */
export class MongoQueryError extends Error {
  override name = 'MongoQueryError';
}

export type MongoPredicate = (document: Record<string, unknown>) => boolean;

/** Compiles a query document (already parsed from JSON). Throws MongoQueryError. */
export function compileMongoQuery(query: unknown): MongoPredicate {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new MongoQueryError(`a query document is a JSON object, not ${Array.isArray(query) ? 'an array' : query === null ? 'null' : `a ${typeof query}`}`);
  }
  let compiled: Query;
  try {
    compiled = new (mingo().Query)(decodeDates(query) as Record<string, unknown>, { scriptEnabled: false });
    // Some operators are only checked when they run ($function inside $expr): run the query once
    // on an empty document so that they are refused now, with their reason, not silently later.
    compiled.test({});
  } catch (error) {
    throw new MongoQueryError((error as Error).message);
  }
  return (document) => {
    try {
      return compiled.test(decodeDates(document) as Record<string, unknown>);
    } catch {
      // An operator that fails on this document's values (a $mod on a string, say) matches nothing.
      return false;
    }
  };
}

/** A copy of `value` with each `{"$date": …}` object (and only those) made a Date. */
export function decodeDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeDates);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  if ('$date' in object && Object.keys(object).length === 1) {
    const ms = readTime(object);
    if (ms !== undefined) return new Date(ms);
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const decoded = decodeDates(object[key]);
    if (decoded !== object[key]) {
      copy ??= { ...object };
      copy[key] = decoded;
    }
  }
  return copy ?? object;
}
