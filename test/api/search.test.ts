/**
 * Reading events (spec/api.md "Reading events") over HTTP: every search parameter alone and
 * combined, cursor pagination while events keep arriving, the 400s, and one event with its proof;
 * on a node of each engine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../helpers/app.ts';
import { ENGINES, type EngineName } from '../helpers/stores.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { verifyInclusion } from '../../src/log/merkle.ts';
import { openNote, parseVerifierKey } from '../../src/log/signed-note.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import { canonicalize } from '../../src/core/canonical-json.ts';

interface Result {
  index: number;
  eventId: string;
  projectId: string;
  receivedAt: string;
  leafHash: string;
  event: Record<string, unknown>;
}
interface Page {
  results: Result[];
  next: string | null;
}

/** One event of each shape the field mapping knows, with ids to name them by. */
const EVENTS = [
  {
    eventID: 'ct-get',
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice' },
    eventTime: '2026-03-01T10:00:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    sourceIPAddress: '203.0.113.7',
    requestParameters: { bucketName: 'invoices', key: 'march/report.pdf' },
  },
  {
    eventID: 'ct-denied',
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Bob', userName: 'Bob' },
    eventTime: '2026-03-01T11:00:00Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateUser',
    sourceIPAddress: '198.51.100.4',
    errorCode: 'AccessDenied',
    errorMessage: 'User Bob is not authorized to perform iam:CreateUser',
  },
  {
    eventId: 'mongo-auth',
    atype: 'authenticate',
    ts: { $date: '2026-03-01T12:00:00.000+00:00' },
    remote: { ip: '203.0.113.7', port: 51234 },
    users: [{ user: 'Alice', db: 'admin' }],
    param: { user: 'Alice', db: 'admin', mechanism: 'SCRAM-SHA-256' },
    result: 18,
  },
  { eventId: 'qumulo', actor: 'AD\\carol', action: 'fs_rename', status: 'ok', source: '192.0.2.55', timestamp: Date.UTC(2026, 2, 1, 13), target: '/finance/q1.xlsx' },
  { eventId: 'generic', actor: 'deploy-bot', action: 'deploy', status: 'failed', source: 'ci-pipeline', timestamp: '2026-03-01T14:00:00Z', note: 'rollback café' },
];

async function seeded(t: Parameters<typeof build>[0], engine: EngineName): Promise<{ vt: Built; id: string; reader: string; writer: string }> {
  const vt = await build(t, { engine });
  const p = await vt.project();
  const response = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, EVENTS);
  assert.equal(response.statusCode, 201, response.body);
  return { vt, id: p.id, reader: p.reader, writer: p.writer };
}

async function get(vt: Built, key: string, url: string): Promise<Page> {
  const response = await vt.call(key, 'GET', url);
  assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
  return response.json<Page>();
}

for (const engine of ENGINES) describe(`${engine}: search`, () => {
  it('every parameter alone and combined, newest first by event time', async (t) => {
    const { vt, id, reader } = await seeded(t, engine);
    const ids = async (query: string) => (await get(vt, reader, `/v1/projects/${id}/events${query}`)).results.map((r) => r.eventId);
    const q = (filter: unknown) => encodeURIComponent(JSON.stringify(filter));
    const cases: Array<[string, string[]]> = [
      ['', ['generic', 'qumulo', 'mongo-auth', 'ct-denied', 'ct-get']],
      ['?order=asc', ['ct-get', 'ct-denied', 'mongo-auth', 'qumulo', 'generic']],
      ['?limit=2', ['generic', 'qumulo']],
      ['?from=2026-03-01T11:00:00Z', ['generic', 'qumulo', 'mongo-auth', 'ct-denied']],
      ['?to=2026-03-01T11:00:00.000Z', ['ct-get']],
      ['?from=2026-03-01T10:30:00%2B00:00&to=2026-03-01T13:00:00Z', ['mongo-auth', 'ct-denied']],
      ['?eventName=authenticate', ['mongo-auth']],
      ['?eventName=fs_rename', ['qumulo']],
      ['?eventSource=s3.amazonaws.com', ['ct-get']],
      ['?eventSource=ci-pipeline', ['generic']],
      ['?actor=Alice', ['mongo-auth', 'ct-get']],
      ['?actor=arn:aws:iam::123456789012:user/Bob', ['ct-denied']],
      ['?actor=AD%5Ccarol', ['qumulo']],
      ['?sourceIp=203.0.113.7', ['mongo-auth', 'ct-get']],
      ['?sourceIp=192.0.2.55', ['qumulo']],
      ['?outcome=failure', ['generic', 'mongo-auth', 'ct-denied']],
      ['?outcome=success', ['qumulo', 'ct-get']],
      ['?q=authorized', ['ct-denied']],
      ['?q=march%2Freport', ['ct-get']],
      ['?q=203.0.113.7', ['mongo-auth', 'ct-get']],
      ['?q=%22not%20authorized%22%20bob', ['ct-denied']],
      ['?q=cafe', ['generic']],
      ['?q=SCRAM*', ['mongo-auth']],
      [`?filter=${q({ 'event.param.mechanism': 'SCRAM-SHA-256' })}`, ['mongo-auth']],
      [`?filter=${q({ 'event.ts': { $gte: { $date: '2026-03-01T11:30:00Z' } } })}`, ['mongo-auth']],
      [`?filter=${q({ eventId: { $in: ['qumulo', 'ct-get'] } })}`, ['qumulo', 'ct-get']],
      [`?filter=${q({ 'event.users.user': 'Alice' })}`, ['mongo-auth']],
      // combined
      ['?actor=Alice&sourceIp=203.0.113.7&outcome=failure', ['mongo-auth']],
      ['?actor=Alice&from=2026-03-01T11:00:00Z', ['mongo-auth']],
      ['?outcome=failure&q=authorized&eventSource=iam.amazonaws.com&eventName=CreateUser&actor=Bob&sourceIp=198.51.100.4&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z', ['ct-denied']],
      [`?q=203.0.113.7&filter=${q({ 'event.eventName': { $exists: true } })}`, ['ct-get']],
      [`?outcome=failure&order=asc&limit=2&filter=${q({ eventId: { $ne: 'ct-denied' } })}`, ['mongo-auth', 'generic']],
      ['?eventName=GetObject&outcome=failure', []],
    ];
    for (const [query, expected] of cases) assert.deepEqual(await ids(query), expected, query);
  });

  it('a result is the stored envelope with its index and leaf hash', async (t) => {
    const { vt, id, reader } = await seeded(t, engine);
    const [result] = (await get(vt, reader, `/v1/projects/${id}/events?eventName=GetObject`)).results;
    assert.deepEqual(Object.keys(result!).sort(), ['event', 'eventId', 'index', 'leafHash', 'projectId', 'receivedAt']);
    assert.equal(result!.index, 0);
    assert.equal(result!.projectId, id);
    assert.deepEqual(result!.event, EVENTS[0]);
    const envelope = Buffer.from(envelopeText(canonicalize(result!.event), result!.eventId, result!.projectId, result!.receivedAt));
    assert.equal(result!.leafHash, leafHash(envelope).toString('hex'));
  });

  it('paginates without a duplicate or a gap while events keep arriving', async (t) => {
    const vt = await build(t, { engine });
    const p = await vt.project();
    const post = (n: number, from: number) =>
      vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, Array.from({ length: n }, (_, i) => ({ eventId: `e${from + i}`, action: from + i < 10_000 ? 'seed' : 'late', n: from + i })));
    assert.equal((await post(300, 0)).statusCode, 201);

    for (const order of ['desc', 'asc'] as const) {
      // Writers keep posting batches while a reader pages through 7 at a time.
      let writing = true;
      let next = order === 'desc' ? 10_000 : 20_000;
      const writer = (async () => {
        while (writing) {
          assert.equal((await post(20, next)).statusCode, 201);
          next += 20;
        }
      })();
      const seen: Result[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await get(vt, p.reader, `/v1/projects/${p.id}/events?limit=7&order=${order}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.ok(page.results.length <= 7);
        seen.push(...page.results);
        cursor = page.next;
        pages++;
        await new Promise((resolve) => setImmediate(resolve));
      } while (cursor);
      writing = false;
      await writer;

      const indexes = seen.map((r) => r.index);
      assert.equal(new Set(indexes).size, indexes.length, `${order}: no duplicate`);
      const sorted = [...indexes].sort((a, b) => a - b);
      assert.deepEqual(sorted, Array.from({ length: sorted.length }, (_, i) => i), `${order}: no gap: the snapshot is the log's first ${sorted.length} entries`);
      assert.ok(sorted.length >= 300, `${order}: the snapshot holds at least what was committed before the first page`);
      assert.ok(pages >= Math.ceil(sorted.length / 7));
      // Each page continues the (time, index) order of the one before.
      const keys = seen.map((r) => [Date.parse(r.receivedAt), r.index] as const);
      for (let i = 1; i < keys.length; i++) {
        const [a, b] = [keys[i - 1]!, keys[i]!];
        const ascending = a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
        assert.equal(ascending, order === 'asc', `${order}: position ${i}`);
      }
      assert.ok((await vt.node.store.treeSize(p.id)) > sorted.length || order === 'asc', 'events did arrive during the pagination');
    }
  });

  it('a filter that discards most candidates still fills pages, across requests when it must', async (t) => {
    const vt = await build(t, { engine });
    const p = await vt.project();
    const events = Array.from({ length: 1000 }, (_, i) => ({ eventId: `f${i}`, n: i, keep: i % 97 === 0 }));
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events)).statusCode, 201);
    const filter = encodeURIComponent(JSON.stringify({ 'event.keep': true }));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(vt, p.reader, `/v1/projects/${p.id}/events?order=asc&limit=3&filter=${filter}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      seen.push(...page.results.map((r) => r.event.n as number));
      cursor = page.next;
    } while (cursor);
    assert.deepEqual(seen, Array.from({ length: 11 }, (_, i) => i * 97));
  });

  it('refuses bad parameters with 400 and the reason', async (t) => {
    const { vt, id, reader } = await seeded(t, engine);
    const first = await get(vt, reader, `/v1/projects/${id}/events?limit=1&actor=Alice`);
    const cases: Array<[string, RegExp]> = [
      ['filter=%7Bbad', /filter is not a MongoDB query document .*it is not JSON: .*position 1/],
      [`filter=${encodeURIComponent('{"a":{"$bogus":1}}')}`, /unknown query operator \$bogus/],
      [`filter=${encodeURIComponent('{"$where":"true"}')}`, /scriptEnabled/],
      [`filter=${encodeURIComponent('[1]')}`, /not an array/],
      [`filter=${encodeURIComponent('{"a":{"$regex":"("}}')}`, /Invalid regular expression/],
      ['from=yesterday', /Parameter from must be an RFC 3339 time/],
      ['to=2026-03-01', /Parameter to must be an RFC 3339 time/],
      ['from=2026-03-01T10:00:00', /Parameter from must be an RFC 3339 time/],
      ['from=2026-02-30T10:00:00Z', /Parameter from must be an RFC 3339 time/],
      ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', /from \(.*\) must be earlier than to/],
      ['limit=0', /limit must be >= 1/],
      ['limit=1001', /limit must be <= 1000/],
      ['limit=ten', /limit must be integer/],
      ['order=sideways', /order/],
      ['outcome=maybe', /outcome/],
      ['q=%22unclosed', /quote is not closed/],
      ['q=---', /holds no letter or digit/],
      ['cursor=garbage', /not a cursor Veritrail issued/],
      [`cursor=${encodeURIComponent(first.next!)}&actor=Bob`, /issued for a search with other parameters/],
      ['evntName=typo', /must NOT have additional properties/],
    ];
    for (const [query, reason] of cases) {
      const response = await vt.call(reader, 'GET', `/v1/projects/${id}/events?${query}`);
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      const body = response.json<{ error: string; message: string }>();
      assert.equal(body.error, 'BAD_REQUEST');
      assert.match(body.message, reason, query);
    }
    // The same cursor with another limit is fine.
    const again = await get(vt, reader, `/v1/projects/${id}/events?limit=5&actor=Alice&cursor=${encodeURIComponent(first.next!)}`);
    assert.deepEqual(again.results.map((r) => r.eventId), ['ct-get']);
  });

  it('reads its own writes, and needs a key that may read', async (t) => {
    const { vt, id, reader, writer } = await seeded(t, engine);
    for (let i = 0; i < 3; i++) {
      assert.equal((await vt.call(writer, 'POST', `/v1/projects/${id}/events`, { eventId: `own-${i}`, action: 'fresh' })).statusCode, 201);
      const page = await get(vt, reader, `/v1/projects/${id}/events?eventName=fresh&limit=1`);
      assert.equal(page.results[0]?.eventId, `own-${i}`);
    }
    assert.equal((await vt.call(writer, 'GET', `/v1/projects/${id}/events`)).statusCode, 403);
    assert.equal((await vt.call(undefined, 'GET', `/v1/projects/${id}/events`)).statusCode, 401);
  });
});

for (const engine of ENGINES) describe(`${engine}: one event`, () => {
  it('by id, and with an inclusion proof that verifies against the signed checkpoint', async (t) => {
    const { vt, id, reader } = await seeded(t, engine);
    const plain = await vt.call(reader, 'GET', `/v1/projects/${id}/events/mongo-auth`);
    assert.equal(plain.statusCode, 200);
    const result = plain.json<Result & { proof?: unknown }>();
    assert.equal(result.index, 2);
    assert.deepEqual(result.event, EVENTS[2]);
    assert.equal(result.proof, undefined);

    const proved = (await vt.call(reader, 'GET', `/v1/projects/${id}/events/mongo-auth?proof=true`)).json<Result & { proof: { treeSize: number; hashes: string[]; checkpoint: string } }>();
    const vkey = (await vt.call(undefined, 'GET', '/v1/log/key')).json<{ vkey: string }>().vkey;
    const checkpoint = parseCheckpoint(openNote(proved.proof.checkpoint, [parseVerifierKey(vkey)]));
    assert.equal(checkpoint.size, proved.proof.treeSize);
    assert.ok(checkpoint.size >= 3);
    const proof = proved.proof.hashes.map((h) => Buffer.from(h, 'base64'));
    assert.ok(verifyInclusion(2, checkpoint.size, Buffer.from(proved.leafHash, 'hex'), proof, checkpoint.root));

    const missing = await vt.call(reader, 'GET', `/v1/projects/${id}/events/nope`);
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ error: string }>().error, 'NOT_FOUND');
    assert.equal((await vt.call(reader, 'GET', `/v1/projects/${id}/events/ct-get?proof=maybe`)).statusCode, 400);
  });
});

describe('search routes in the OpenAPI document and in self-audit', () => {
  it('documents every parameter, and records reads (when asked to) and exports', async (t) => {
    const vt = await build(t, { auditReads: true });
    const p = await vt.project();
    const openapi = (await vt.call(undefined, 'GET', '/openapi.json')).json<{ paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> }>();
    const names = (path: string) => (openapi.paths[path]?.get?.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name).sort();
    assert.deepEqual(names('/v1/projects/{projectId}/events'), ['actor', 'cursor', 'eventName', 'eventSource', 'filter', 'from', 'limit', 'order', 'outcome', 'q', 'sourceIp', 'to']);
    assert.deepEqual(names('/v1/projects/{projectId}/events/{eventId}'), ['proof']);
    assert.deepEqual(names('/v1/projects/{projectId}/export'), ['format', 'from', 'to']);

    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { eventId: 'x', action: 'a' })).statusCode, 201);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/events?actor=nobody`)).statusCode, 200);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/events/x`)).statusCode, 200);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?format=csv`)).statusCode, 200);
    const records = await get(vt, p.reader, `/v1/projects/${p.id}/events?eventSource=veritrail.api&order=asc`);
    const seen = records.results.map((r) => [r.event.eventName, (r.event.requestParameters as Record<string, unknown>)?.actor ?? (r.event.requestParameters as Record<string, unknown>)?.format ?? null]);
    assert.deepEqual(seen, [
      ['SearchEvents', 'nobody'],
      ['GetEvent', null],
      ['ExportEvents', 'csv'],
    ]);
  });
});
