/**
 * The PostgreSQL engine's search index (schema in postgres-migrations.ts, version 4): one row
 * per entry in `search_events` with a B-tree index per predicate, `search_actors` for the
 * many-valued actor, and a tsvector column `words` under a GIN index for full text. PgStore runs
 * the statements; this file only knows the search tables.
 *
 * Same results as SQLite, by construction:
 *  - Words are FTS5's own (store/fts5-words.ts), and the tsvector is written as a literal of
 *    those words, never through PostgreSQL's text parser, so both engines split and fold alike.
 *    A term is a phrase of its words (`<->`), a trailing `*` a prefix (`:*`) on its last word.
 *  - A tsvector cannot hold everything FTS5 can: positions stop at 16,383, a lexeme keeps at
 *    most 256 of them, and a lexeme has at most 2,046 bytes. An entry past any of these keeps
 *    its words also as text (`long_words`, ' w1 w2 … '), and its terms are checked there with
 *    strpos instead of by position; an over-long word is indexed cut short and marked with a
 *    trailing space (no word holds a space, so a cut word never equals a whole one).
 *  - Exact-match strings follow the rule of store/search-fields.ts, and a string holding NUL
 *    (which PostgreSQL text cannot hold) is stored escaped; queries escape alike.
 *
 * Every page is one statement:
 *  - full-text terms: the GIN index finds the entries holding every word, then the rows are
 *    checked (project, phrase, snapshot, range) and sorted (a sort over the matches, as with
 *    FTS5); for a word common enough, the planner may instead walk the (project, time, idx)
 *    index in order and check each row until a page is full;
 *  - else an actor: search_actors (project, actor, time, idx) drives;
 *  - else the planner picks among the (project, field, time, idx) and (project, time, idx)
 *    indexes; each ends in the search order, so ORDER BY time, idx LIMIT n stops after a page.
 * test/store/postgres-search-plan.test.ts asserts these plans with EXPLAIN.
 */
import { fts5Words } from '../fts5-words.ts';
import { searchField } from '../search-fields.ts';
import type { SearchDocument, SearchQuery } from '../store.ts';

/** tsvector limits: the last position, positions per lexeme, bytes per lexeme (tsvector_in's errors). */
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_LEXEME = 256;
const MAX_LEXEME_BYTES = 2046;

/** Bounds for an absent time limit (times are ms since the epoch). */
const MIN_TIME = -Number.MAX_SAFE_INTEGER;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/** PostgreSQL text cannot hold NUL: an injective escape, the identity for every other string. */
function pgText(value: string): string;
function pgText(value: string | null): string | null;
function pgText(value: string | null): string | null {
  if (value === null || !/[\0\uffff]/.test(value)) return value;
  return value.replace(/[\0\uffff]/g, (c) => (c === '\0' ? '\uffff0' : '\uffff1'));
}

/** The longest start of `word` that fits in `bytes` UTF-8 bytes. */
function cut(word: string, bytes: number): string {
  if (Buffer.byteLength(word) <= bytes) return word;
  let text = '';
  for (const ch of word) {
    if (Buffer.byteLength(text + ch) > bytes) break;
    text += ch;
  }
  return text;
}

/** A word as a lexeme: itself, or cut below the byte limit and marked with a space. */
function lexeme(word: string): { text: string; cut: boolean } {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most words need no byte count.
  if (word.length * 3 <= MAX_LEXEME_BYTES || Buffer.byteLength(word) <= MAX_LEXEME_BYTES) return { text: word, cut: false };
  return { text: `${cut(word, MAX_LEXEME_BYTES - 1)} `, cut: true };
}

/** A lexeme quoted for tsvector and tsquery input (words hold no quote, but say so anyway). */
function quoted(text: string): string {
  if (!QUOTE_OR_BACKSLASH.test(text)) return `'${text}'`;
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
const QUOTE_OR_BACKSLASH = /['\\]/;

/** The `words` tsvector (as text) and `long_words` of one entry's text. */
function indexedWords(text: string): { words: string | null; longWords: string | null } {
  const words = fts5Words(text);
  if (words.length === 0) return { words: null, longWords: null };
  const positions = new Map<string, number[]>();
  let long = words.length > MAX_POSITION;
  words.forEach((word, i) => {
    const { text: lex, cut } = lexeme(word);
    if (cut) long = true;
    const list = positions.get(lex) ?? [];
    if (list.length === MAX_POSITIONS_PER_LEXEME) long = true;
    else list.push(i + 1);
    positions.set(lex, list);
  });
  // A long entry's terms are checked on long_words, so its lexemes need no positions.
  const lexemes = [...positions].map(([lex, list]) => (long ? quoted(lex) : `${quoted(lex)}:${list.join(',')}`));
  return { words: lexemes.join(' '), longWords: long ? ` ${words.join(' ')} ` : null };
}

/** The full-text part of a query: what GIN looks up, the exact phrase check, the long-text check. */
interface TermsMatch {
  /** Every word of every term, ANDed: what the GIN index answers. */
  all: string;
  /** Each term a phrase, ANDed: exact for an entry with positions. */
  phrases: string;
  /** Each term as text to find in long_words. */
  patterns: string[];
}

/** undefined when a term has no word at all: FTS5 matches nothing then, and so do we. */
function termsMatch(terms: readonly string[]): TermsMatch | undefined {
  const all: string[] = [];
  const phrases: string[] = [];
  const patterns: string[] = [];
  for (const term of terms) {
    const prefix = term.endsWith('*');
    const words = fts5Words(prefix ? term.replace(/\*+$/, '') : term);
    if (words.length === 0) return undefined;
    const last = words.length - 1;
    const lexemes = words.map((word, i) => quoted(lexeme(word).text) + (prefix && i === last ? ':*' : ''));
    // For GIN, a prefix is cut to what a cut lexeme keeps, so that it finds cut words too; the
    // check that follows (phrase or long_words) is exact.
    all.push(...lexemes.slice(0, last), prefix ? `${quoted(cut(words[last]!, MAX_LEXEME_BYTES - 1))}:*` : lexemes[last]!);
    phrases.push(`(${lexemes.join(' <-> ')})`);
    patterns.push(` ${words.join(' ')}${prefix ? '' : ' '}`);
  }
  return { all: all.join(' & '), phrases: phrases.join(' & '), patterns };
}

/** The rows of `unnest` for one indexForSearch call. */
export function searchRows(pk: number, documents: readonly SearchDocument[]) {
  const events = {
    idx: [] as number[],
    time: [] as number[],
    name: [] as Array<string | null>,
    source: [] as Array<string | null>,
    ip: [] as Array<string | null>,
    outcome: [] as Array<string | null>,
    words: [] as Array<string | null>,
    longWords: [] as Array<string | null>,
  };
  const actors = { actor: [] as string[], time: [] as number[], idx: [] as number[] };
  for (const doc of documents) {
    const { words, longWords } = indexedWords(doc.text);
    events.idx.push(doc.index);
    events.time.push(doc.time);
    events.name.push(pgText(searchField(doc.eventName)));
    events.source.push(pgText(searchField(doc.eventSource)));
    events.ip.push(pgText(searchField(doc.sourceIp)));
    events.outcome.push(doc.outcome);
    events.words.push(words);
    events.longWords.push(longWords);
    for (const actor of new Set(doc.actors)) {
      if (searchField(actor) === null) continue;
      actors.actor.push(pgText(actor));
      actors.time.push(doc.time);
      actors.idx.push(doc.index);
    }
  }
  return { events, actors };
}

export const INSERT_SEARCH_EVENTS_SQL = `INSERT INTO search_events (project_pk, idx, time, name, source, ip, outcome, words, long_words)
  SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::tsvector[], $9::text[]) ON CONFLICT DO NOTHING`;
export const INSERT_SEARCH_ACTORS_SQL = `INSERT INTO search_actors (project_pk, actor, time, idx) SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING`;

/**
 * Export's time bounds and the size they were taken under, in one statement (one snapshot):
 * min and max idx of a time range, from the (project, time, idx) index alone.
 */
export const SEARCH_RANGE_SQL = `WITH indexed AS (SELECT coalesce((SELECT size FROM search_indexed WHERE project_pk = $1), 0) AS size)
  SELECT (SELECT size FROM indexed) AS size, min(idx) AS first, max(idx) AS last
  FROM search_events WHERE project_pk = $1 AND time >= $2 AND time < $3 AND idx < (SELECT size FROM indexed)`;

export function searchRangeParams(pk: number, fromTime?: number, toTime?: number): unknown[] {
  return [pk, fromTime ?? MIN_TIME, toTime ?? MAX_TIME];
}

/** One page's SQL and parameters; undefined when the terms can match nothing. */
export function searchStatement(pk: number, query: SearchQuery): { sql: string; params: unknown[] } | undefined {
  const params: unknown[] = [pk];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const terms = query.terms !== undefined && query.terms.length > 0 ? termsMatch(query.terms) : undefined;
  if (query.terms !== undefined && query.terms.length > 0 && !terms) return undefined;
  const where: string[] = [];
  let from: string;
  let s: string; // the driving table's alias: its time and idx bound the snapshot, range and cursor
  if (query.actor !== undefined && !terms) {
    s = 'a';
    from = 'search_actors a';
    where.push('a.project_pk = $1', `a.actor = ${param(pgText(query.actor))}`);
    if ([query.eventName, query.eventSource, query.sourceIp, query.outcome].some((v) => v !== undefined)) from += ' JOIN search_events e ON e.project_pk = a.project_pk AND e.idx = a.idx';
  } else {
    s = 'e';
    from = 'search_events e';
    where.push('e.project_pk = $1');
  }
  where.push(`${s}.idx < ${param(query.below)}`);
  if (query.fromTime !== undefined) where.push(`${s}.time >= ${param(query.fromTime)}`);
  if (query.toTime !== undefined) where.push(`${s}.time < ${param(query.toTime)}`);
  for (const [column, value] of [
    ['name', query.eventName],
    ['source', query.eventSource],
    ['ip', query.sourceIp],
    ['outcome', query.outcome],
  ] as const) {
    if (value !== undefined) where.push(`e.${column} = ${param(pgText(value))}`);
  }
  if (terms) {
    where.push(`e.words @@ ${param(terms.all)}::tsquery`);
    where.push(
      `CASE WHEN e.long_words IS NULL THEN e.words @@ ${param(terms.phrases)}::tsquery ELSE NOT EXISTS (SELECT 1 FROM unnest(${param(terms.patterns)}::text[]) AS p WHERE strpos(e.long_words, p) = 0) END`,
    );
    if (query.actor !== undefined) {
      where.push(`EXISTS (SELECT 1 FROM search_actors a WHERE a.project_pk = e.project_pk AND a.actor = ${param(pgText(query.actor))} AND a.time = e.time AND a.idx = e.idx)`);
    }
  }
  const desc = query.order === 'desc';
  if (query.after) where.push(`(${s}.time, ${s}.idx) ${desc ? '<' : '>'} (${param(query.after.time)}, ${param(query.after.index)})`);
  const direction = desc ? 'DESC' : 'ASC';
  const page = `SELECT ${s}.idx, ${s}.time FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${s}.time ${direction}, ${s}.idx ${direction} LIMIT ${param(query.limit)}`;
  // The envelopes of the page's entries, by primary key; the outer ORDER BY keeps the page's order.
  const sql = `SELECT s.idx, s.time, en.envelope FROM (${page}) s JOIN entries en ON en.project_pk = $1 AND en.idx = s.idx ORDER BY s.time ${direction}, s.idx ${direction}`;
  return { sql, params };
}
