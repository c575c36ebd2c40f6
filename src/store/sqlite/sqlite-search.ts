/**
 * The SQLite engine's search index, in the search file (schema in sqlite-migrations.ts): one row
 * per entry in `search_events` with a B-tree index per predicate, `search_actors` for the
 * many-valued actor, and an FTS5 table for full text. SqliteStore owns the connection and the
 * main file; this class only knows the search tables.
 *
 * Every page is one indexed range scan in (time, key) order:
 *  - full-text terms: FTS5 MATCH, restricted to the project's key range, drives. FTS5 gives its
 *    matches in key order, not time order, so a page is first read as the `limit` matches
 *    nearest the end of the key range (newest first for `desc`), sorted by time; the zone map
 *    (search_blocks: each block's time span) then proves, or not, that no match further along
 *    the keys could belong in the page (for `desc`: every entry below the page's smallest key
 *    is no later than the page's last time). Where events arrive roughly in time order, as
 *    audit events do, the proof holds and a page costs `limit` matches. Else the page is read
 *    exactly as before: every match in the range, joined to search_events and sorted;
 *  - else an actor: search_actors (project, actor, time, key) drives;
 *  - else the most selective equality predicate's partial index, or (project, time), drives; each
 *    index ends in (time, rowid = key), so ORDER BY time, key needs no sort and LIMIT stops the
 *    scan after one page, and a time range bounds it.
 * test/store/sqlite-search-plan.test.ts asserts these plans with EXPLAIN QUERY PLAN.
 */
import type Database from 'better-sqlite3';
import type { SearchDocument, SearchQuery } from '../store.ts';
import { searchField as field } from '../search-fields.ts';
import { entryKey } from './sqlite-keys.ts';

/**
 * One FTS5 query from the terms: each term a quoted string (FTS5 tokenizes it into a phrase with
 * the table's own tokenizer, so a term is split exactly as the indexed text was), ANDed. A
 * trailing `*` becomes an FTS5 prefix on the phrase's last token. No FTS5 syntax of the caller's
 * survives: quotes are doubled inside the string.
 */
export function fts5Match(terms: readonly string[]): string {
  return terms
    .map((term) => {
      const prefix = term.endsWith('*');
      const words = (prefix ? term.replace(/\*+$/, '') : term).replace(/"/g, '""');
      return `"${words}"${prefix ? ' *' : ''}`;
    })
    .join(' AND ');
}

/** Export's time bounds: min and max key of a time range, from the (project, time) index alone. */
export const SEARCH_RANGE_SQL = 'SELECT min(key) AS first, max(key) AS last FROM search_events WHERE project_pk = ? AND time >= ? AND time < ? AND key < ?';

/** Entries per zone-map block (search_blocks). */
export const SEARCH_BLOCK_ENTRIES = 4096;

export interface SqliteSearchHit {
  key: number;
  time: number;
}

export class SqliteSearch {
  private readonly stmt;
  /** Full-text pages the zone map could not prove, read the slow way (for tests and diagnostics). */
  fullTextSorts = 0;
  /** Statements by their SQL (one per shape of query: which predicates are present), compiled once. */
  private readonly searches = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      size: db.prepare<[number], { size: number }>('SELECT size FROM search_indexed WHERE project_pk = ?'),
      setSize: db.prepare('INSERT OR REPLACE INTO search_indexed (project_pk, size) VALUES (?, ?)'),
      insertEvent: db.prepare('INSERT INTO search_events (key, project_pk, time, name, source, ip, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertActor: db.prepare('INSERT OR IGNORE INTO search_actors (project_pk, actor, time, key) VALUES (?, ?, ?, ?)'),
      insertText: db.prepare('INSERT INTO search_text (rowid, text) VALUES (?, ?)'),
      range: db.prepare<[number, number, number, number], { first: number | null; last: number | null }>(SEARCH_RANGE_SQL),
      widenBlock: db.prepare(
        `INSERT INTO search_blocks (project_pk, block, min_time, max_time) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_pk, block) DO UPDATE SET min_time = min(min_time, excluded.min_time), max_time = max(max_time, excluded.max_time)`,
      ),
      latestBefore: db.prepare<[number, number], { time: number | null }>('SELECT max(max_time) AS time FROM search_blocks WHERE project_pk = ? AND block < ?'),
      earliestAfter: db.prepare<[number, number], { time: number | null }>('SELECT min(min_time) AS time FROM search_blocks WHERE project_pk = ? AND block > ?'),
      latestBetween: db.prepare<[number, number], { time: number | null }>('SELECT max(time) AS time FROM search_events WHERE key >= ? AND key < ?'),
      earliestBetween: db.prepare<[number, number], { time: number | null }>('SELECT min(time) AS time FROM search_events WHERE key > ? AND key < ?'),
    };
  }

  /** Every log's search index size, for the open-time check that the file is not ahead. */
  sizes(): Map<number, number> {
    const rows = this.db.prepare('SELECT project_pk, size FROM search_indexed').all() as Array<{ project_pk: number; size: number }>;
    return new Map(rows.map((r) => [r.project_pk, r.size]));
  }

  size(pk: number): number {
    return this.stmt.size.get(pk)?.size ?? 0;
  }

  index(pk: number, fromIndex: number, documents: readonly SearchDocument[]): boolean {
    return this.db
      .transaction(() => {
        if (this.size(pk) !== fromIndex) return false;
        const blocks = new Map<number, { min: number; max: number }>();
        for (const doc of documents) {
          const key = entryKey(pk, doc.index);
          const block = Math.floor(doc.index / SEARCH_BLOCK_ENTRIES);
          const span = blocks.get(block);
          if (span) {
            span.min = Math.min(span.min, doc.time);
            span.max = Math.max(span.max, doc.time);
          } else blocks.set(block, { min: doc.time, max: doc.time });
          this.stmt.insertEvent.run(key, pk, doc.time, field(doc.eventName), field(doc.eventSource), field(doc.sourceIp), doc.outcome);
          for (const actor of doc.actors) if (field(actor) !== null) this.stmt.insertActor.run(pk, actor, doc.time, key);
          if (doc.text.length > 0) this.stmt.insertText.run(key, doc.text);
        }
        for (const [block, { min, max }] of blocks) this.stmt.widenBlock.run(pk, block, min, max);
        this.stmt.setSize.run(pk, fromIndex + documents.length);
        return true;
      })
      .immediate();
  }

  /** Keys and times of one page (SqliteStore reads the envelopes from the main file). */
  search(pk: number, query: SearchQuery): SqliteSearchHit[] {
    const params = searchParams(pk, query);
    if (params.match !== undefined && (query.fromTime !== undefined || query.toTime !== undefined)) {
      // FTS5 cannot filter by time, but it seeks by rowid: narrow its key range to the keys the
      // time range holds (read from the (project, time) index), so a common word in a narrow
      // range costs the range, not every match in the project. Exact for any log; a big win
      // where time follows index order, as it roughly does.
      const { first, last } = this.range(pk, query.below, query.fromTime, query.toTime);
      if (first === undefined || last === undefined) return [];
      params.lo = first;
      params.below = last + 1;
    }
    if (params.match !== undefined) {
      const page = this.pageByKey(pk, query, params);
      if (page) return page;
      this.fullTextSorts++;
    }
    return this.statement(searchSql(query)).all(params) as SqliteSearchHit[];
  }

  /**
   * A full-text page read in key order (the file comment says why), or undefined when the zone
   * map cannot prove it is the page in time order.
   */
  private pageByKey(pk: number, query: SearchQuery, params: Record<string, unknown>): SqliteSearchHit[] | undefined {
    const desc = query.order === 'desc';
    const hits = (this.statement(searchSql(query, 'key')).all(params) as SqliteSearchHit[]).sort((a, b) => (desc ? b.time - a.time || b.key - a.key : a.time - b.time || a.key - b.key));
    // Fewer than a page: these are every match there is.
    if (hits.length < query.limit) return hits;
    const last = hits[hits.length - 1]!.time;
    const base = entryKey(pk, 0);
    if (desc) {
      // No entry below the smallest key read may be later than the page's last time.
      const smallest = Math.min(...hits.map((h) => h.key));
      const block = Math.floor((smallest - base) / SEARCH_BLOCK_ENTRIES);
      const inBlock = this.stmt.latestBetween.get(base + block * SEARCH_BLOCK_ENTRIES, smallest)?.time ?? null;
      const before = this.stmt.latestBefore.get(pk, block)?.time ?? null;
      return (inBlock === null || inBlock <= last) && (before === null || before <= last) ? hits : undefined;
    }
    const largest = Math.max(...hits.map((h) => h.key));
    const block = Math.floor((largest - base) / SEARCH_BLOCK_ENTRIES);
    const inBlock = this.stmt.earliestBetween.get(largest, base + (block + 1) * SEARCH_BLOCK_ENTRIES)?.time ?? null;
    const after = this.stmt.earliestAfter.get(pk, block)?.time ?? null;
    return (inBlock === null || inBlock >= last) && (after === null || after >= last) ? hits : undefined;
  }

  private statement(sql: string): Database.Statement {
    let statement = this.searches.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.searches.set(sql, statement);
    }
    return statement;
  }

  /** min and max key below `below` with time in [from, to), over the (project, time) index. */
  range(pk: number, below: number, fromTime = -Number.MAX_SAFE_INTEGER, toTime = Number.MAX_SAFE_INTEGER): { first?: number; last?: number } {
    const row = this.stmt.range.get(pk, fromTime, toTime, entryKey(pk, below));
    return row && row.first !== null && row.last !== null ? { first: row.first, last: row.last } : {};
  }
}

/** Named parameters of searchSql. */
function searchParams(pk: number, query: SearchQuery): Record<string, unknown> & { lo: number; below: number; match?: string } {
  return {
    pk,
    lo: entryKey(pk, 0),
    below: entryKey(pk, query.below),
    limit: query.limit,
    ...(query.fromTime !== undefined ? { fromTime: query.fromTime } : {}),
    ...(query.toTime !== undefined ? { toTime: query.toTime } : {}),
    ...(query.eventName !== undefined ? { name: query.eventName } : {}),
    ...(query.eventSource !== undefined ? { source: query.eventSource } : {}),
    ...(query.sourceIp !== undefined ? { ip: query.sourceIp } : {}),
    ...(query.outcome !== undefined ? { outcome: query.outcome } : {}),
    ...(query.actor !== undefined ? { actor: query.actor } : {}),
    ...(query.terms !== undefined && query.terms.length > 0 ? { match: fts5Match(query.terms) } : {}),
    ...(query.after ? { afterTime: query.after.time, afterKey: entryKey(pk, query.after.index) } : {}),
  };
}

/**
 * The SQL of one page. `d` is the driving row source: the FTS5 table joined to search_events, or
 * search_actors, or search_events itself; `t` and `k` name its time and key columns, so the
 * snapshot bound, the time range and the cursor apply to the driving index itself.
 */
export function searchSql(query: SearchQuery, orderBy: 'time' | 'key' = 'time'): string {
  const terms = query.terms !== undefined && query.terms.length > 0;
  const where: string[] = [];
  let from: string;
  let time: string;
  let key: string;
  if (terms) {
    from = 'search_text JOIN search_events e ON e.key = search_text.rowid';
    where.push('search_text MATCH @match', 'search_text.rowid >= @lo', 'search_text.rowid < @below');
    time = 'e.time';
    key = 'e.key';
  } else if (query.actor !== undefined) {
    from = 'search_actors a';
    where.push('a.project_pk = @pk', 'a.actor = @actor', 'a.key < @below');
    time = 'a.time';
    key = 'a.key';
  } else {
    from = 'search_events e';
    where.push('e.project_pk = @pk', 'e.key < @below');
    time = 'e.time';
    key = 'e.key';
  }
  const needsEvents = !terms && query.actor !== undefined && [query.eventName, query.eventSource, query.sourceIp, query.outcome].some((v) => v !== undefined);
  if (needsEvents) from += ' JOIN search_events e ON e.key = a.key';
  if (query.fromTime !== undefined) where.push(`${time} >= @fromTime`);
  if (query.toTime !== undefined) where.push(`${time} < @toTime`);
  // With no statistics, SQLite would drive from whichever equality index it meets; drive from
  // the likely most selective one instead (an address, then a name, a source, an outcome) and
  // mark the others with unary + so that they are checked, not used as the index.
  let driving = terms || query.actor !== undefined;
  for (const [column, param, value] of [
    ['ip', 'ip', query.sourceIp],
    ['name', 'name', query.eventName],
    ['source', 'source', query.eventSource],
    ['outcome', 'outcome', query.outcome],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${driving ? '+' : ''}e.${column} = @${param}`);
    driving = true;
  }
  if (terms && query.actor !== undefined) {
    where.push('EXISTS (SELECT 1 FROM search_actors a WHERE a.project_pk = e.project_pk AND a.actor = @actor AND a.time = e.time AND a.key = e.key)');
  }
  const desc = query.order === 'desc';
  if (query.after) where.push(`(${time}, ${key}) ${desc ? '<' : '>'} (@afterTime, @afterKey)`);
  const direction = desc ? 'DESC' : 'ASC';
  // In key order, a full-text page is in FTS5's own rowid order: no sort, and LIMIT stops it.
  const order = orderBy === 'time' ? `${time} ${direction}, ${key} ${direction}` : `${terms ? 'search_text.rowid' : key} ${direction}`;
  const sql = `SELECT ${key} AS key, ${time} AS time FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT @limit`;
  return sql;
}
