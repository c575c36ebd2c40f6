/**
 * The SQLite engine's search plans (EXPLAIN QUERY PLAN on a real index file): full text goes
 * through FTS5, every other predicate and every time range through a B-tree index in search
 * order, and nothing scans a project's rows.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { SQLITE_SEARCH_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { searchSql, fts5Match, SEARCH_RANGE_SQL } from '../../src/store/sqlite/sqlite-search.ts';
import type { SearchQuery } from '../../src/store/store.ts';
import { tempDir } from '../helpers/stores.ts';

const BASE: SearchQuery = { below: 10, order: 'desc', limit: 100 };
const PARAMS = { pk: 1, lo: 2 ** 32, below: 2 ** 32 + 10, limit: 100, fromTime: 1, toTime: 2, name: 'n', source: 's', ip: 'i', outcome: 'failure', actor: 'a', match: fts5Match(['x']), afterTime: 1, afterKey: 2 ** 32 };

describe('sqlite: search query plans', () => {
  let dataDir: string;
  let db: Database.Database;
  before(async () => {
    dataDir = tempDir();
    await new SqliteStore({ dataDir }).close();
    db = new Database(path.join(dataDir, SQLITE_SEARCH_FILE), { readonly: true });
  });
  after(() => {
    db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function plan(query: Partial<SearchQuery>, orderBy: 'time' | 'key' = 'time'): string {
    const sql = searchSql({ ...BASE, ...query }, orderBy);
    const params = Object.fromEntries(Object.entries(PARAMS).filter(([name]) => sql.includes(`@${name}`)));
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((row) => row.detail).join(' | ');
  }

  const cases: Array<[string, Partial<SearchQuery>, RegExp]> = [
    ['no predicate: the (project, time) index in order', {}, /^SEARCH e USING COVERING INDEX search_by_time \(project_pk=\?\)$/],
    ['a time range', { fromTime: 1, toTime: 2 }, /^SEARCH e USING COVERING INDEX search_by_time \(project_pk=\? AND time>\? AND time<\?\)$/],
    ['a cursor is a range on the same index', { after: { time: 1, index: 0 }, order: 'asc' }, /^SEARCH e USING COVERING INDEX search_by_time \(project_pk=\? AND time>\?\)$/],
    ['eventName with a time range', { eventName: 'n', fromTime: 1, toTime: 2 }, /^SEARCH e USING COVERING INDEX search_by_name \(project_pk=\? AND name=\? AND time>\? AND time<\?\)$/],
    ['eventSource', { eventSource: 's' }, /^SEARCH e USING COVERING INDEX search_by_source \(project_pk=\? AND source=\?\)$/],
    ['sourceIp', { sourceIp: 'i' }, /^SEARCH e USING COVERING INDEX search_by_ip \(project_pk=\? AND ip=\?\)$/],
    ['outcome', { outcome: 'failure' }, /^SEARCH e USING COVERING INDEX search_by_outcome \(project_pk=\? AND outcome=\?\)$/],
    ['actor with a time range', { actor: 'a', fromTime: 1 }, /^SEARCH a USING PRIMARY KEY \(project_pk=\? AND actor=\? AND time>\?\)$/],
    ['actor with other fields', { actor: 'a', eventName: 'n' }, /^SEARCH a USING PRIMARY KEY \(project_pk=\? AND actor=\?\) \| SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)$/],
    ['several fields: the address drives', { eventName: 'n', sourceIp: 'i', outcome: 'success' }, /^SEARCH e USING INDEX search_by_ip \(project_pk=\? AND ip=\?\)$/],
    ['full text: FTS5 MATCH within the project key range', { terms: ['x'] }, /^SCAN search_text VIRTUAL TABLE INDEX 0:M1>< \| SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\) \| USE TEMP B-TREE FOR ORDER BY$/],
    ['full text with everything else', { terms: ['x'], actor: 'a', eventName: 'n', fromTime: 1 }, /^SCAN search_text VIRTUAL TABLE INDEX 0:M1>< \| SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\) \| SEARCH a EXISTS USING PRIMARY KEY/],
  ];
  for (const [name, query, expected] of cases) {
    it(name, () => {
      const detail = plan(query);
      assert.match(detail, expected);
      assert.doesNotMatch(detail, /SCAN (e|a|search_events|search_actors)\b/, 'never a scan of the rows');
    });
  }

  it('a full-text page read in key order comes from FTS5 in rowid order, with no sort', () => {
    assert.match(plan({ terms: ['x'] }, 'key'), /^SCAN search_text VIRTUAL TABLE INDEX 192:M1>< \| SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)$/);
    assert.match(plan({ terms: ['x'], order: 'asc', eventName: 'n' }, 'key'), /^SCAN search_text VIRTUAL TABLE INDEX 64:M1>< \| SEARCH e USING INTEGER PRIMARY KEY \(rowid=\?\)$/);
  });

  it("export's time bounds read the (project, time) index range only", () => {
    const detail = (db.prepare(`EXPLAIN QUERY PLAN ${SEARCH_RANGE_SQL}`).all(1, 1, 2, 3) as Array<{ detail: string }>)
      .map((r) => r.detail)
      .join(' | ');
    assert.equal(detail, 'SEARCH search_events USING COVERING INDEX search_by_time (project_pk=? AND time>? AND time<?)');
  });
});
