/**
 * The same data gives the same search results on both engines (issue 5): one node on SQLite and
 * one on PostgreSQL take the same events in the same requests, then answer a table of searches
 * (full text in many scripts, phrases, prefixes, every field, time ranges, both orders, filters),
 * each read to the end through its cursors, page by page.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../helpers/app.ts';
import { ENGINES } from '../helpers/stores.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const WORDS = [
  'access', 'denied', 'Access', 'DENIED', 'granted', 'café', 'CAFE', 'Café', 'straße', 'strasse', 'naïve', 'Ǆemal', 'µs', 'ſtop', 'Σίσυφος', 'σίσυφος',
  'ЙОД', 'йод', '日本語', 'テキスト', '한국어', 'العربية', '١٢٣', 'हिन्दी', 'e\u0301clair', '😀', 'x-amz-id', 'arn:aws:iam::123456789012:user/Alice', 'Bob',
  '203.0.113.7', '203.0.113.70', '2001:db8::1', 'josé@example.com', 'C:\\Windows\\System32', '/finance/q1.xlsx', 'fs_rename', 'rollback', 'the', 'end',
];
const NAMES = ['GetObject', 'CreateUser', 'authenticate', 'fs_rename', 'deploy'];
const ACTORS = ['Alice', 'Bob', 'AD\\carol', 'deploy-bot', 'arn:aws:iam::123456789012:user/Alice'];
const IPS = ['203.0.113.7', '198.51.100.4', '192.0.2.55'];

function corpus(): object[][] {
  // Seeded, so that both nodes (and every run) get the same events.
  const random = seededRandom(11);
  const pick = <T,>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const batches: object[][] = [];
  let n = 0;
  for (let b = 0; b < 6; b++) {
    const batch: object[] = [];
    for (let i = 0; i < 60; i++, n++) {
      const text = Array.from({ length: 3 + Math.floor(random() * 12) }, () => pick(WORDS)).join(random() < 0.5 ? ' ' : ', ');
      // Times: most in order, some out of order, some repeated, some absent (receivedAt then).
      const time = random() < 0.15 ? undefined : new Date(Date.UTC(2025, 0, 1) + (random() < 0.2 ? Math.floor(random() * 400) : n) * 60_000).toISOString();
      batch.push({
        eventId: `ev-${n}`,
        ...(random() < 0.8 ? { action: pick(NAMES) } : {}),
        ...(random() < 0.8 ? { actor: pick(ACTORS) } : {}),
        ...(random() < 0.7 ? { source: pick(IPS) } : {}),
        ...(random() < 0.7 ? { status: random() < 0.5 ? 'ok' : 'failed' } : {}),
        ...(time ? { timestamp: time } : {}),
        note: text,
        ...(random() < 0.05 ? { long: `${'the '.repeat(300)}end ${'w'.repeat(3000)}` } : {}),
      });
    }
    batches.push(batch);
  }
  return batches;
}

const QUERIES = [
  '',
  'order=asc',
  'q=access',
  'q=ACCESS%20denied',
  'q=%22access%20denied%22',
  'q=%22denied%20access%22',
  'q=cafe',
  'q=caf*',
  'q=strasse',
  'q=stra*',
  'q=naive',
  'q=%C7%86emal',
  'q=%CE%BCs',
  'q=stop',
  'q=%CF%83%CE%B9%CF%83%CF%85%CF%86%CE%BF%CF%82',
  'q=%D0%B9%D0%BE%D0%B4',
  'q=%E6%97%A5%E6%9C%AC%E8%AA%9E',
  'q=eclair',
  'q=203.0.113.7',
  'q=203.0.113.7*',
  'q=203.0*',
  'q=2001:db8*',
  'q=jose@example.com',
  'q=x-amz*',
  'q=user%2FAlice',
  'q=%22the%20end%22',
  'q=%22the%20the%20end%22',
  `q=${'w'.repeat(1000)}`,
  `q=${'w'.repeat(1000)}*`,
  'q=windows%20system32',
  'q=%22system32%20windows%22',
  'q=finance%2Fq1*',
  'q=rollback%20cafe%20access',
  'q=ev',
  'q=ev*',
  'q=%221%22',
  'eventName=fs_rename',
  'eventName=GetObject&order=asc',
  'actor=Alice',
  'actor=AD%5Ccarol&q=access',
  'actor=arn:aws:iam::123456789012:user/Alice&outcome=failure',
  'sourceIp=203.0.113.7',
  'sourceIp=192.0.2.55&eventName=deploy',
  'outcome=success',
  'outcome=failure&q=denied*',
  'from=2025-01-01T01:00:00Z&to=2025-01-01T04:00:00Z',
  'from=2025-01-01T02:00:00Z&to=2025-01-01T03:00:00Z&q=access&order=asc',
  'to=2025-01-01T00:30:00Z',
  'from=2025-01-01T05:00:00Z&actor=Bob',
  `filter=${encodeURIComponent(JSON.stringify({ 'event.status': 'failed' }))}&q=access`,
  `filter=${encodeURIComponent(JSON.stringify({ 'event.note': { $regex: 'caf' } }))}&order=asc`,
];

/** Every result of a search, read 7 at a time through its cursors: (index, eventId) pairs. */
async function everything(vt: Built, key: string, projectId: string, query: string): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/v1/projects/${projectId}/events?limit=7${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response = await vt.call(key, 'GET', url);
    assert.equal(response.statusCode, 200, `${query}: ${response.body}`);
    const page = response.json<{ results: Array<{ index: number; eventId: string }>; next: string | null }>();
    seen.push(...page.results.map((r) => `${r.index} ${r.eventId}`));
    cursor = page.next;
  } while (cursor);
  return seen;
}

describe('search on both engines', { skip: !(ENGINES.includes('sqlite') && ENGINES.includes('postgres')) && 'needs both engines' }, () => {
  it('the same events give the same results, page by page, for a table of searches', async (t) => {
    const nodes = await Promise.all((['sqlite', 'postgres'] as const).map(async (engine) => {
      const vt = await build(t, { engine });
      return { vt, project: await vt.project() };
    }));
    for (const batch of corpus()) {
      for (const { vt, project } of nodes) assert.equal((await vt.call(project.writer, 'POST', `/v1/projects/${project.id}/events`, batch)).statusCode, 201);
    }
    let nonEmpty = 0;
    for (const query of QUERIES) {
      const [sqlite, postgres] = await Promise.all(nodes.map(({ vt, project }) => everything(vt, project.reader, project.id, query)));
      assert.deepEqual(postgres, sqlite, query);
      if (sqlite!.length > 0) nonEmpty++;
    }
    // The table means something only if most searches find something.
    assert.ok(nonEmpty >= QUERIES.length - 6, `${nonEmpty} of ${QUERIES.length} searches found events`);
    t.diagnostic(`${QUERIES.length} searches, ${nonEmpty} with results, equal on SQLite and PostgreSQL`);
  });
});
