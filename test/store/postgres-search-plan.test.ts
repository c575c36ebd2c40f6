/**
 * The PostgreSQL engine's search plans (EXPLAIN on a real, analysed database): full text goes
 * through the GIN index, a time range and export's time bounds through the (project, time, idx)
 * B-tree as a range, the other predicates through their own B-tree indexes, and nothing scans a
 * table. PostgreSQL plans by statistics, so the data is large enough (two projects, 30,000
 * entries) for it to prefer the indexes on its own; nothing here turns scans off.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ENGINES, initStore, testProject, appendLeaves, type TestStore } from '../helpers/stores.ts';
import { SEARCH_RANGE_SQL, searchRangeParams, searchStatement } from '../../src/store/postgres/postgres-search.ts';
import type { SearchDocument, SearchQuery } from '../../src/store/store.ts';
import { leafHash } from '../../src/log/hashing.ts';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];

describe('postgres: search query plans', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  let handle: TestStore;
  let client: pg.Client;
  let pk: number;

  before(async () => {
    handle = await initStore('postgres');
    const other = testProject();
    const project = testProject();
    for (const [p, count] of [[other, 10_000], [project, 20_000]] as const) {
      await handle.store.createProject(p);
      const envelopes = Array.from({ length: count }, (_, i) => Buffer.from(`{"i":${i}}`));
      await appendLeaves(handle.store, p.id, envelopes.map(leafHash), envelopes);
      for (let from = 0; from < count; from += 2000) {
        const docs: SearchDocument[] = Array.from({ length: 2000 }, (_, k) => {
          const i = from + k;
          return {
            index: i,
            time: 1_700_000_000_000 + i * 1000,
            eventName: `name-${i % 50}`,
            eventSource: `source-${i % 20}`,
            sourceIp: `10.0.${i % 250}.${i % 7}`,
            actors: [`actor-${i % 100}`],
            outcome: i % 3 === 0 ? 'failure' : 'success',
            text: `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} rare${i % 1000} event ${i}`,
          };
        });
        assert.equal(await handle.store.indexForSearch(p.id, from, docs), true);
      }
    }
    client = new pg.Client({ connectionString: handle.url });
    await client.connect();
    // As autovacuum leaves it: statistics taken, and the GIN index's pending list (where new
    // entries wait, PostgreSQL's fastupdate) merged into the index proper.
    await client.query('VACUUM ANALYZE');
    pk = (await client.query<{ pk: number }>('SELECT pk FROM projects WHERE id = $1', [project.id])).rows[0]!.pk;
  });
  after(async () => {
    await client?.end();
    await handle?.destroy();
  });

  async function plan(sql: string, params: unknown[]): Promise<PlanNode[]> {
    const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    return nodes(rows[0]!['QUERY PLAN'][0]!.Plan);
  }

  async function searchPlan(query: Partial<SearchQuery>): Promise<PlanNode[]> {
    const statement = searchStatement(pk, { below: 20_000, order: 'desc', limit: 101, ...query })!;
    return plan(statement.sql, statement.params);
  }

  const usesIndex = (plan: PlanNode[], index: string, cond?: RegExp) =>
    plan.some((n) => n['Index Name'] === index && /Index|Bitmap/.test(n['Node Type']) && (!cond || cond.test(n['Index Cond'] ?? '')));
  // search_indexed, one row per project, may be read whole; the tables of entries never are.
  const scansATable = (plan: PlanNode[]) => plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] !== 'search_indexed');

  const cases: Array<[string, Partial<SearchQuery>, string, RegExp?]> = [
    ['no predicate: the (project, time, idx) index in order', {}, 'search_by_time'],
    ['a time range: a range of the (project, time, idx) index', { fromTime: 1_700_000_100_000, toTime: 1_700_000_200_000 }, 'search_by_time', /"time" >= .*"time" </],
    ['a cursor is a range of the same index', { after: { time: 1_700_000_500_000, index: 500 } }, 'search_by_time', /ROW\("time", idx\) </],
    ['eventName with a time range', { eventName: 'name-7', fromTime: 1_700_000_100_000, toTime: 1_700_000_900_000 }, 'search_by_name', /name = .*"time" >= /],
    ['sourceIp', { sourceIp: '10.0.3.3' }, 'search_by_ip', /ip = /],
    ['actor with a time range', { actor: 'actor-5', fromTime: 1_700_000_100_000 }, 'search_actors_pkey', /actor = .*"time" >= /],
    ['full text: the GIN index', { terms: ['rare42'] }, 'search_by_words'],
    ['a phrase with a prefix: the GIN index', { terms: ['rare42 event*'] }, 'search_by_words'],
    ['full text with a time range and fields: still the GIN index', { terms: ['rare42'], fromTime: 1_700_000_100_000, eventName: 'name-42' }, 'search_by_words'],
  ];
  for (const [name, query, index, cond] of cases) {
    it(name, async () => {
      const found = await searchPlan(query);
      const described = found.map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}${n['Index Cond'] ? ` (${n['Index Cond']})` : ''}`).join(' | ');
      assert.ok(usesIndex(found, index, cond), `${index}${cond ? ` with ${cond}` : ''} in: ${described}`);
      assert.ok(!scansATable(found), `no table scan in: ${described}`);
    });
  }

  it("export's time bounds read a range of the (project, time, idx) index only", async () => {
    const found = await plan(SEARCH_RANGE_SQL, searchRangeParams(pk, 1_700_000_100_000, 1_700_000_200_000));
    assert.ok(usesIndex(found, 'search_by_time', /"time" >= .*"time" </), found.map((n) => n['Node Type']).join(' | '));
    assert.ok(!scansATable(found));
  });
});
