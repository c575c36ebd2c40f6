/**
 * The native destinations API: CRUD for every kind, secrets never read back, ETag/If-Match,
 * validation, status with lag, and delivery to a real local webhook receiver.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { ENGINES } from '../helpers/stores.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { waitUntil } from '../helpers/wait.ts';

const SECRET = 'a-webhook-secret-of-some-length';

describe('native destinations API', () => {
  it('creates, reads, lists, patches and deletes each kind; secrets are write-only', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const base = `/v1/projects/${p.id}/destinations`;
    const cw = await vt.call(p.owner, 'POST', base, { kind: 'cloudwatch', region: 'eu-west-1', logGroupName: '/veritrail/audit', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'very-secret-key', enabled: false });
    assert.equal(cw.statusCode, 201, cw.body);
    assert.equal(cw.headers.etag, '"1"');
    const cwBody = cw.json();
    assert.equal(cwBody.secretAccessKey, '<set>');
    assert.equal(cwBody.format, 'json');
    assert.equal(cwBody.createLogGroup, false);
    const sys = await vt.call(p.owner, 'POST', base, { kind: 'syslog', host: 'logs.example.com', transport: 'tls', format: 'csv', enabled: false });
    assert.equal(sys.statusCode, 201, sys.body);
    assert.equal(sys.json().port, 6514);
    const hook = await vt.call(p.owner, 'POST', base, { kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: SECRET, enabled: false, name: 'siem' });
    assert.equal(hook.statusCode, 201, hook.body);
    assert.equal(hook.json().secret, '<set>');

    const list = await vt.call(p.reader, 'GET', base);
    assert.equal(list.statusCode, 200);
    assert.equal(list.json().results.length, 3);
    for (const secret of ['very-secret-key', SECRET]) assert.ok(!list.body.includes(secret));

    const id = cwBody.id;
    const got = await vt.call(p.reader, 'GET', `${base}/${id}`);
    assert.equal(got.headers.etag, '"1"');
    const stale = await vt.call(p.owner, 'PATCH', `${base}/${id}`, { region: 'us-east-1' }, { 'if-match': '"0"' });
    assert.equal(stale.statusCode, 412);
    assert.equal(stale.json().error, 'PRECONDITION_FAILED');
    assert.match(stale.json().message, /at ETag "1" and If-Match was "0"/);
    const patched = await vt.call(p.owner, 'PATCH', `${base}/${id}`, { region: 'us-east-1' }, { 'if-match': '"1"' });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.headers.etag, '"2"');
    assert.equal(patched.json().region, 'us-east-1');
    assert.equal(patched.json().secretAccessKey, '<set>', 'a patch without the secret keeps it');
    const unconditional = await vt.call(p.owner, 'PATCH', `${base}/${id}`, { region: 'eu-west-1' });
    assert.equal(unconditional.statusCode, 200, 'without If-Match a write is unconditional');
    assert.equal(unconditional.headers.etag, '"3"');
    assert.equal((await vt.call(p.writer, 'POST', base, { kind: 'webhook', url: 'http://x.test', secret: SECRET })).statusCode, 403);

    // Every kind: a patch changes what it names and keeps the rest, no secret is ever stored
    // in clear, and a delete (stale If-Match refused) makes it gone.
    const NEW_SECRET = 'another-webhook-secret-0123';
    const kinds = [
      { id, patch: { logGroupName: '/veritrail/other' }, secrets: ['very-secret-key'] },
      { id: sys.json().id, patch: { port: 6515, format: 'qumulo-json' }, secrets: [] },
      { id: hook.json().id, patch: { url: 'http://127.0.0.1:9/other', secret: NEW_SECRET }, secrets: [SECRET, NEW_SECRET] },
    ];
    for (const { id, patch, secrets } of kinds) {
      const before = await vt.call(p.reader, 'GET', `${base}/${id}`);
      const etag = String(before.headers.etag);
      const patched = await vt.call(p.owner, 'PATCH', `${base}/${id}`, patch, { 'if-match': etag });
      assert.equal(patched.statusCode, 200, patched.body);
      const { version: _before, updatedAt: _beforeAt, ...beforeFields } = before.json();
      const { version: _after, updatedAt: _afterAt, ...afterFields } = patched.json();
      assert.deepEqual(afterFields, { ...beforeFields, ...patch, ...(patch.secret ? { secret: '<set>' } : {}) }, `${before.json().kind}: the patched fields change, the rest stay`);
      const stored = JSON.stringify(await vt.node.store.settingHistory(p.id, `destination/${id}`));
      for (const secret of secrets) assert.ok(!stored.includes(secret), `${before.json().kind}: the secret is sealed at rest`);
      assert.equal((await vt.call(p.owner, 'DELETE', `${base}/${id}`, undefined, { 'if-match': etag })).statusCode, 412);
      assert.equal((await vt.call(p.owner, 'DELETE', `${base}/${id}`)).statusCode, 204);
      assert.equal((await vt.call(p.owner, 'GET', `${base}/${id}`)).statusCode, 404);
      assert.equal((await vt.call(p.owner, 'DELETE', `${base}/${id}`)).statusCode, 404);
    }
    assert.equal((await vt.call(p.reader, 'GET', base)).json().results.length, 0);
  });

  it('refuses bad input with 400 and details', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const base = `/v1/projects/${p.id}/destinations`;
    const cases: Array<[unknown, string]> = [
      [{ kind: 'cloudwatch', region: 'Mars', logGroupName: 'g' }, 'region'],
      [{ kind: 'cloudwatch', region: 'us-east-1', logGroupName: 'bad name!' }, 'logGroupName'],
      [{ kind: 'cloudwatch', region: 'us-east-1' }, 'logGroupName'],
      [{ kind: 'cloudwatch', region: 'us-east-1', logGroupName: 'g', format: 'csv' }, 'format'],
      [{ kind: 'syslog', host: 'ok.example', port: 70000 }, 'port'],
      [{ kind: 'syslog', host: 'not a host' }, 'host'],
      [{ kind: 'syslog', host: 'h.example', url: 'http://x' }, 'url'],
      [{ kind: 'webhook', url: 'ftp://x', secret: SECRET }, 'url'],
      [{ kind: 'webhook', url: 'https://x.example', secret: 'short' }, 'secret'],
      [{ kind: 'pigeon', host: 'x' }, 'kind'],
    ];
    for (const [body, field] of cases) {
      const response = await vt.call(p.owner, 'POST', base, body);
      assert.equal(response.statusCode, 400, `${JSON.stringify(body)}: ${response.body}`);
      const details = (response.json().details ?? []) as Array<{ field: string }>;
      assert.ok(
        details.some((d) => d.field === field || d.field === `body.${field}`),
        `${JSON.stringify(body)} names ${field} in details: ${response.body}`,
      );
    }
  });

  it('delivers to a webhook at least once, in order, through failures; status shows lag and the last error', async (t) => {
    const receiver = await startWebhookReceiver(SECRET);
    t.after(() => receiver.close());
    const vt = await build(t, { forwarding: { backoff: { baseMs: 20, maxMs: 100 }, pollMs: 50 } });
    const p = await vt.project();
    const base = `/v1/projects/${p.id}/destinations`;
    const created = await vt.call(p.owner, 'POST', base, { kind: 'webhook', url: receiver.url, secret: SECRET, startFrom: 'beginning' });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    receiver.fail(Number.POSITIVE_INFINITY);
    const events = Array.from({ length: 250 }, (_, i) => ({ eventId: `e${i}`, action: 'login', n: i }));
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events)).statusCode, 201);
    const failing = await waitUntil(async () => {
      const status = (await vt.call(p.reader, 'GET', `${base}/${id}/status`)).json();
      return status.state === 'error' && status;
    }, 'the destination to report its error');
    assert.equal(failing.lastError.message, 'The webhook answered HTTP 500');
    assert.equal(failing.lagEvents, 251);
    assert.equal(failing.lastDeliveredIndex, null);
    receiver.fail(0);
    // Every event of the log (the CreateDestination self-audit record first, then the batch).
    const size = await vt.node.store.treeSize(p.id);
    await receiver.waitFor(size);
    assert.deepEqual(receiver.events.map((e) => e.index), Array.from({ length: size }, (_, i) => i));
    assert.equal(receiver.events[0]!.event.eventName, 'CreateDestination');
    assert.equal(receiver.events[1]!.eventId, 'e0');
    assert.equal(receiver.badSignatures, 0);
    // The receiver has the events before the forwarder has its answer and moves the cursor.
    const body = await waitUntil(async () => {
      const status = await vt.call(p.reader, 'GET', `${base}/${id}/status`);
      assert.equal(status.statusCode, 200, status.body);
      const body = status.json<Record<string, any>>();
      return body.lagEvents === 0 && body;
    }, 'the cursor to catch up');
    assert.equal(body.state, 'connected', JSON.stringify(body));
    assert.equal(body.lastError, null);
    assert.equal(body.lagEvents, 0);
    assert.equal(body.lastDeliveredIndex, size - 1);
  });

  it('on nodes sharing PostgreSQL, a node standing by reports the delivering node\'s status, not its own "connecting"', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, async (t) => {
    const a = await build(t, { engine: 'postgres' });
    const b = await build(t, { storeUrl: a.node.config.storeUrl, checkpointKey: a.node.config.checkpointKey, serverSecret: a.node.config.serverSecret });
    const p = await a.project();
    const base = `/v1/projects/${p.id}/destinations`;
    // Nothing listens on the discard port: every delivery fails, on whichever node delivers.
    const created = await a.call(p.owner, 'POST', base, { kind: 'webhook', url: 'http://127.0.0.1:9/hook', secret: SECRET });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal((await a.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [{ action: 'x' }])).statusCode, 201);
    const states = async () =>
      Promise.all([a, b].map(async (vt) => (await vt.call(p.reader, 'GET', `${base}/${created.json().id}/status`)).json<{ state: string; lastError: { message: string } | null; lagEvents: number }>()));
    const both = await waitUntil(async () => {
      const seen = await states();
      return seen.every((s) => s.state === 'error') && seen;
    }, 'both nodes to report the failing delivery');
    assert.equal(both[0]!.lastError?.message, both[1]!.lastError?.message);
    assert.ok(both[0]!.lagEvents > 0 && both[0]!.lagEvents === both[1]!.lagEvents, `the same lag on both: ${both.map((s) => s.lagEvents)}`);
  });
});
