/**
 * Search (spec/api.md "Reading events"): the query parameters in, one page of entries and the
 * cursor of the next page out. The store narrows by the indexed predicates (project, time range,
 * eventName, eventSource, actor, sourceIp, outcome, full-text terms); the MongoDB `filter` runs
 * here, on those candidates only.
 *
 * Order and cursors. Results are ordered by (time, index), newest first unless order=asc, where
 * time is the event's own time or else its receivedAt. The first page pins a snapshot: the
 * search index size at that moment (`below`); every later page reads entries below it only.
 * The index grows strictly in index order (query/search-indexer.ts), so the snapshot's entries
 * never change, and a cursor that names the last (time, index) read continues exactly after it:
 * no duplicate and no gap, however many events arrive meanwhile. To see newer events, start a
 * new search. A cursor also carries a digest of the parameters it was issued for, and is refused
 * with other parameters (only limit may change).
 *
 * Filtered searches. When `filter` discards candidates, the page keeps reading further
 * candidates until it has `limit` results or the candidates run out, but reads at most
 * MAX_FILTER_CANDIDATES per request; then it returns what it has (possibly nothing) with a
 * cursor after the last candidate read, so a sparse filter costs several requests, never one
 * unbounded one.
 */
import { createHash } from 'node:crypto';
import { compileMongoQuery, MongoQueryError, type MongoPredicate } from '../core/mongo-query.ts';
import { parseEnvelope } from '../core/envelope.ts';
import {
  VT_ERR_SEARCH_CURSOR_INVALID,
  VT_ERR_SEARCH_FILTER_INVALID,
  VT_ERR_SEARCH_QUERY_INVALID,
  VT_ERR_SEARCH_RANGE_EMPTY,
  VT_ERR_SEARCH_TIME_INVALID,
} from '../core/errors.ts';
import type { SearchHit, SearchPosition, SearchQuery, Store } from '../store/store.ts';
import type { SearchIndexing } from './search-indexer.ts';

/** Page size when the request names none (spec/api.md). */
export const DEFAULT_SEARCH_LIMIT = 100;
/** The largest page (spec/api.md). */
export const MAX_SEARCH_LIMIT = 1000;
/** Candidates one filtered request reads at most before it returns with a cursor. */
export const MAX_FILTER_CANDIDATES = 10_000;
/** How long a first page waits for the search index to reach the log's size (read your writes). */
export const DEFAULT_SEARCH_INDEX_WAIT_MS = 2000;
/** The most full-text terms in one q. */
export const MAX_SEARCH_TERMS = 16;

/** The query string of a search, as received. */
export interface SearchParams {
  from?: string;
  to?: string;
  eventName?: string;
  eventSource?: string;
  actor?: string;
  sourceIp?: string;
  outcome?: 'success' | 'failure';
  q?: string;
  filter?: string;
  limit?: number;
  order?: 'asc' | 'desc';
  cursor?: string;
}

export interface SearchPage {
  hits: SearchHit[];
  /** The cursor of the next page, or null when this page reached the end. */
  next: string | null;
  /** Entries committed but outside this search's snapshot (first pages only). */
  lag?: number;
}

/** RFC 3339 date-time with a zone (fractions of any length), e.g. 2026-11-22T10:00:00.000Z. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Parses `from`/`to`; undefined when absent. Throws VT_ERR_SEARCH_TIME_INVALID. */
export function parseTimeParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = RFC3339.exec(value);
  // Date.parse rolls 2026-02-30 over to March 2; a day the month does not have is refused.
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const real = match !== null && month >= 1 && month <= 12 && day >= 1 && new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
  const ms = real ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new VT_ERR_SEARCH_TIME_INVALID(name, JSON.stringify(value));
  return ms;
}

/** The half-open range [from, to) of a search or export. */
export function parseTimeRange(from: string | undefined, to: string | undefined): { fromTime?: number; toTime?: number } {
  const fromTime = parseTimeParam('from', from);
  const toTime = parseTimeParam('to', to);
  if (fromTime !== undefined && toTime !== undefined && fromTime >= toTime) throw new VT_ERR_SEARCH_RANGE_EMPTY(from!, to!);
  return { ...(fromTime !== undefined ? { fromTime } : {}), ...(toTime !== undefined ? { toTime } : {}) };
}

/**
 * The terms of q: words separated by spaces, or "quoted phrases". Each must hold a letter or a
 * digit (store.ts SearchQuery.terms says how a term matches).
 */
export function parseTerms(q: string): string[] {
  if ((q.match(/"/g)?.length ?? 0) % 2 === 1) throw new VT_ERR_SEARCH_QUERY_INVALID('a quote is not closed');
  const terms = [...q.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]!).trim()).filter((t) => t.length > 0);
  if (terms.length > MAX_SEARCH_TERMS) throw new VT_ERR_SEARCH_QUERY_INVALID(`it has ${terms.length} terms; at most ${MAX_SEARCH_TERMS} are allowed`);
  const wordless = terms.find((t) => !/[\p{L}\p{N}]/u.test(t));
  if (terms.length === 0 || wordless !== undefined) throw new VT_ERR_SEARCH_QUERY_INVALID(`${JSON.stringify(wordless ?? q)} holds no letter or digit`);
  return terms;
}

/** Parses and compiles `filter`. Throws VT_ERR_SEARCH_FILTER_INVALID with the parser's reason. */
export function parseFilter(filter: string): MongoPredicate {
  let document: unknown;
  try {
    document = JSON.parse(filter);
  } catch (error) {
    throw new VT_ERR_SEARCH_FILTER_INVALID(`it is not JSON: ${(error as Error).message}`);
  }
  try {
    return compileMongoQuery(document);
  } catch (error) {
    if (error instanceof MongoQueryError) throw new VT_ERR_SEARCH_FILTER_INVALID(error.message);
    throw error;
  }
}

interface Cursor {
  /** The snapshot: entries below this index. */
  below: number;
  after: SearchPosition;
}

/** A digest of everything that defines a search except its position and page size. */
function paramsDigest(projectId: string, params: SearchParams): string {
  const { cursor: _cursor, limit: _limit, ...defining } = params;
  const ordered = Object.entries({ ...defining, order: params.order ?? 'desc', projectId })
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(ordered)).digest('base64url').slice(0, 16);
}

function encodeCursor(cursor: Cursor, digest: string): string {
  return Buffer.from(JSON.stringify({ v: 1, b: cursor.below, t: cursor.after.time, i: cursor.after.index, d: digest })).toString('base64url');
}

function decodeCursor(text: string, digest: string): Cursor {
  let parsed: { v?: unknown; b?: unknown; t?: unknown; i?: unknown; d?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new VT_ERR_SEARCH_CURSOR_INVALID('it is not a cursor Veritrail issued');
  }
  const { v, b, t, i, d } = parsed ?? {};
  if (v !== 1 || !Number.isSafeInteger(b) || !Number.isSafeInteger(t) || !Number.isSafeInteger(i) || (b as number) < 0 || (i as number) < 0) {
    throw new VT_ERR_SEARCH_CURSOR_INVALID('it is not a cursor Veritrail issued');
  }
  if (d !== digest) throw new VT_ERR_SEARCH_CURSOR_INVALID('it was issued for a search with other parameters; only limit may change between pages');
  return { below: b as number, after: { time: t as number, index: i as number } };
}

/**
 * Validates the parameters and reads one page. Every bad parameter is a 400 before the store is
 * touched.
 */
export async function searchEvents(
  store: Store,
  indexer: SearchIndexing,
  projectId: string,
  params: SearchParams,
  options: { indexWaitMs?: number; maxFilterCandidates?: number } = {},
): Promise<SearchPage> {
  const range = parseTimeRange(params.from, params.to);
  const terms = params.q !== undefined ? parseTerms(params.q) : undefined;
  const predicate = params.filter !== undefined ? parseFilter(params.filter) : undefined;
  const digest = paramsDigest(projectId, params);
  const cursor = params.cursor !== undefined ? decodeCursor(params.cursor, digest) : undefined;
  const limit = params.limit ?? DEFAULT_SEARCH_LIMIT;

  let below: number;
  let lag: number | undefined;
  if (cursor) {
    // A cursor cannot reach past what is indexed now (the index may have been rebuilt since).
    below = Math.min(cursor.below, await store.searchIndexSize(projectId));
  } else {
    const size = await store.treeSize(projectId);
    below = await indexer.waitFor(projectId, size, options.indexWaitMs ?? DEFAULT_SEARCH_INDEX_WAIT_MS);
    lag = Math.max(0, size - below);
  }

  const base: Omit<SearchQuery, 'limit' | 'after'> = {
    below,
    order: params.order ?? 'desc',
    ...range,
    ...(params.eventName !== undefined ? { eventName: params.eventName } : {}),
    ...(params.eventSource !== undefined ? { eventSource: params.eventSource } : {}),
    ...(params.actor !== undefined ? { actor: params.actor } : {}),
    ...(params.sourceIp !== undefined ? { sourceIp: params.sourceIp } : {}),
    ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
    ...(terms ? { terms } : {}),
  };
  const page = predicate
    ? await filteredPage(store, projectId, base, cursor?.after, limit, predicate, options.maxFilterCandidates ?? MAX_FILTER_CANDIDATES)
    : await plainPage(store, projectId, base, cursor?.after, limit);
  return { hits: page.hits, next: page.after ? encodeCursor({ below, after: page.after }, digest) : null, ...(lag !== undefined ? { lag } : {}) };
}

type BaseQuery = Omit<SearchQuery, 'limit' | 'after'>;

/** Without a filter: one store call, one more than a page to learn whether another follows. */
async function plainPage(store: Store, projectId: string, base: BaseQuery, after: SearchPosition | undefined, limit: number): Promise<{ hits: SearchHit[]; after?: SearchPosition }> {
  const hits = await store.searchEntries(projectId, { ...base, limit: limit + 1, ...(after ? { after } : {}) });
  if (hits.length <= limit) return { hits };
  const page = hits.slice(0, limit);
  return { hits: page, after: position(page[page.length - 1]!) };
}

/** With a filter: candidates in chunks until a page is full, they run out, or the budget does. */
async function filteredPage(
  store: Store,
  projectId: string,
  base: BaseQuery,
  after: SearchPosition | undefined,
  limit: number,
  predicate: MongoPredicate,
  budget: number,
): Promise<{ hits: SearchHit[]; after?: SearchPosition }> {
  const hits: SearchHit[] = [];
  let read = 0;
  let last = after;
  while (read < budget) {
    const chunk = Math.min(Math.max(limit, 200), budget - read);
    const candidates = await store.searchEntries(projectId, { ...base, limit: chunk, ...(last ? { after: last } : {}) });
    for (const candidate of candidates) {
      read++;
      last = position(candidate);
      if (!predicate(parseEnvelope(candidate.envelope) as unknown as Record<string, unknown>)) continue;
      hits.push(candidate);
      if (hits.length === limit) return { hits, after: last };
    }
    if (candidates.length < chunk) return { hits }; // the candidates ran out
  }
  return { hits, ...(last ? { after: last } : {}) };
}

function position(hit: SearchHit): SearchPosition {
  return { time: hit.time, index: hit.index };
}
