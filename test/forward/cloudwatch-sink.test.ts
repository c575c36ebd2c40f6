/**
 * The CloudWatch Logs destination, driven through a real node and the real
 * `@aws-sdk/client-cloudwatch-logs`, against a local CloudWatch Logs protocol double
 * (test/helpers/cloudwatch-logs-double.ts: SigV4 checked, every PutLogEvents limit enforced).
 * AWS itself cannot be reached from here.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../helpers/app.ts';
import { startCloudWatchLogsDouble, type CloudWatchLogsDouble } from '../helpers/cloudwatch-logs-double.ts';
import { deliveryProblem, duplicates } from '../helpers/delivery-order.ts';
import { SimClock } from '../helpers/sim-clock.ts';
import { waitUntil } from '../helpers/wait.ts';
import type { NodeConfig } from '../../src/api/node-config.ts';

const GROUP = '/veritrail/audit';
const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret-key' };

interface Setup {
  vt: Built;
  double: CloudWatchLogsDouble;
  project: Awaited<ReturnType<Built['project']>>;
  destination: string;
  /** Indexes in the order the double stored them. */
  indexes(): number[];
  status(): Promise<Record<string, any>>;
  ingest(events: unknown[]): Promise<void>;
  patch(body: unknown): Promise<void>;
  /** Waits until every event of the log was delivered and the cursor is at the end. */
  drained(): Promise<Record<string, any>>;
}

async function setup(t: TestContext, options: { clock?: SimClock; destination?: Record<string, unknown>; node?: NodeConfig; groupExists?: boolean } = {}): Promise<Setup> {
  const double = await startCloudWatchLogsDouble({ now: options.clock ? () => options.clock!.now() : undefined });
  t.after(() => double.close());
  if (options.groupExists ?? true) double.groups.set(GROUP, new Map());
  const { forwarding, ...node } = options.node ?? {};
  const vt = await build(t, {
    ...(options.clock ? { clock: options.clock } : {}),
    forwarding: { backoff: { baseMs: 10, maxMs: 200 }, pollMs: 50, ...(options.clock ? { sleep: options.clock.sleep, backoff: { baseMs: 1000, maxMs: 60_000 } } : {}), ...forwarding },
    ...node,
  });
  const project = await vt.project();
  const created = await vt.call(project.owner, 'POST', `/v1/projects/${project.id}/destinations`, {
    kind: 'cloudwatch',
    region: 'us-east-1',
    logGroupName: GROUP,
    endpoint: double.endpoint,
    ...CREDENTIALS,
    startFrom: 'beginning',
    ...options.destination,
  });
  assert.equal(created.statusCode, 201, created.body);
  const destination = created.json().id as string;
  const base = `/v1/projects/${project.id}/destinations/${destination}`;
  const self: Setup = {
    vt,
    double,
    project,
    destination,
    indexes: () => double.events(GROUP, `veritrail-${project.id}`).map((e) => (JSON.parse(e.message) as { index: number }).index),
    status: async () => (await vt.call(project.reader, 'GET', `${base}/status`)).json(),
    async ingest(events) {
      const response = await vt.call(project.writer, 'POST', `/v1/projects/${project.id}/events`, events);
      assert.equal(response.statusCode, 201, response.body);
    },
    async patch(body) {
      const response = await vt.call(project.owner, 'PATCH', base, body);
      assert.equal(response.statusCode, 200, response.body);
    },
    async drained() {
      return waitUntil(async () => {
        const size = await vt.node.store.treeSize(project.id);
        const status = await self.status();
        return status.nextIndex === size && status.lagEvents === 0 && status;
      }, 'the destination to catch up', 60_000);
    },
  };
  return self;
}

const events = (n: number, prefix: string, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ eventId: `${prefix}-${i}`, action: 'fs_read_data', actor: 'alice', ...extra }));

describe('CloudWatch Logs destination (against a local CloudWatch Logs protocol double)', () => {
  it('delivers every event in order through 500s, throttling, connection resets and a lost acknowledgement', async (t) => {
    // Batches smaller than the log, and the lost acknowledgement after the cursor has moved
    // past a thousand events, so that a resend from further back than one batch shows.
    const batchEvents = 500;
    const s = await setup(t, { node: { forwarding: { batchEvents } } });
    s.double.faults.push('500', 'throttle', 'reset', '500');
    for (let batch = 0; batch < 2; batch++) await s.ingest(events(500, `b${batch}`));
    await s.drained();
    s.double.faults.push('reset-after-store', 'throttle', 'access-denied');
    for (let batch = 2; batch < 4; batch++) await s.ingest(events(500, `b${batch}`));
    const status = await s.drained();
    const size = await s.vt.node.store.treeSize(s.project.id);
    const indexes = s.indexes();
    assert.equal(deliveryProblem(indexes, size, batchEvents), undefined);
    assert.ok(duplicates(indexes) > 0, 'the batch whose acknowledgement was lost came again');
    assert.equal(s.double.faults.length, 0, 'every fault was met');
    assert.equal(status.state, 'connected');
    assert.equal(status.lastError, null, 'an error clears after the next successful PutLogEvents');
    // The stream was created once, in the existing group; nothing created the group.
    assert.equal(s.double.calls.filter((c) => c.op === 'CreateLogStream' && c.status === 200).length, 1);
    assert.equal(s.double.calls.filter((c) => c.op === 'CreateLogGroup').length, 0);
    t.diagnostic(`${size} events, ${indexes.length} stored, ${duplicates(indexes)} duplicates, ${s.double.calls.length} calls`);
  });

  // The 10,000-event cut cannot be reached with real messages (10,000 × (message + 26) passes
  // 1 MiB first); test/forward/cloudwatch-batch.test.ts covers it on the pure cutter.
  it('keeps every PutLogEvents call within 1 MiB counting 26 bytes per event, filling calls close to it', async (t) => {
    const s = await setup(t, { destination: { enabled: false }, node: { forwarding: { batchEvents: 20_000 } } });
    await s.ingest(events(10_000, 'small'));
    await s.ingest(events(600, 'more'));
    // Large events: 12 of about 200 KiB make several calls by size alone.
    await s.ingest(events(12, 'large', { blob: 'x'.repeat(200 * 1024) }));
    await s.patch({ enabled: true });
    await s.drained();
    const puts = s.double.calls.filter((c) => c.op === 'PutLogEvents' && c.status === 200);
    const sizes = puts.map((put) => put.body.logEvents.reduce((sum: number, e: { message: string }) => sum + Buffer.byteLength(e.message) + 26, 0));
    for (const bytes of sizes) assert.ok(bytes <= 1_048_576, `a call of ${bytes} bytes`);
    assert.ok(sizes[0]! > 1_048_576 - 400, `the first call is cut by size, at ${sizes[0]} bytes`);
    assert.ok(puts.filter((p) => p.body.logEvents.some((e: { message: string }) => e.message.includes('"large-'))).length >= 3, 'the large events took several calls');
    const size = await s.vt.node.store.treeSize(s.project.id);
    assert.equal(deliveryProblem(s.indexes(), size, 1), undefined);
  });

  it('splits a backlog spanning more than 24 hours, re-stamps events older than 14 days, and passes over refused ones', async (t) => {
    const clock = new SimClock();
    const s = await setup(t, { clock, destination: { enabled: false } });
    await s.ingest(events(50, 'day1'));
    clock.advance(25 * 3600_000);
    await s.ingest(events(50, 'day2'));
    await s.patch({ enabled: true });
    await s.drained();
    let puts = s.double.calls.filter((c) => c.op === 'PutLogEvents' && c.status === 200);
    for (const put of puts) {
      const times = put.body.logEvents.map((e: { timestamp: number }) => e.timestamp);
      assert.ok(times.at(-1) - times[0] <= 24 * 3600_000, 'no call spans more than 24 hours');
      assert.deepEqual(times, [...times].sort((a: number, b: number) => a - b), 'chronological within a call');
    }
    assert.ok(puts.length >= 2);

    // Disabled while 15 days pass: the backlog is too old for CloudWatch and is re-stamped.
    await s.patch({ enabled: false });
    await s.ingest(events(30, 'old'));
    clock.advance(15 * 24 * 3600_000);
    await s.ingest(events(30, 'fresh'));
    await s.patch({ enabled: true });
    let status = await s.drained();
    assert.equal(status.notes.clamped, 31, 'the 30 old events and the record of disabling were re-stamped');
    assert.deepEqual(s.double.calls.filter((c) => c.op === 'PutLogEvents' && c.status === 400).map((c) => `${c.op} ${c.error}`), [], 'CloudWatch refused nothing');

    // The group's retention is one hour: older events in a call are refused one by one (AWS's
    // expiredLogEventEndIndex) and the newer ones after them in the same call are stored.
    s.double.retentionMs = 3600_000;
    await s.patch({ enabled: false });
    await s.ingest(events(20, 'expired'));
    clock.advance(2 * 3600_000);
    await s.ingest(events(20, 'kept'));
    await s.patch({ enabled: true });
    status = await s.drained();
    assert.equal(status.notes.rejectedExpired, 21, 'the 20 expired events and the record of disabling');
    const messages = s.double.events(GROUP, `veritrail-${s.project.id}`).map((e) => e.message);
    assert.ok(!messages.some((m) => m.includes('"expired-')));
    assert.equal(messages.filter((m) => m.includes('"kept-')).length, 20, 'every event after the refused ones arrived');
    puts = s.double.calls.filter((c) => c.op === 'PutLogEvents' && c.status === 200);
    const together = puts.filter((p) => p.body.logEvents.some((e: { message: string }) => e.message.includes('"expired-')) && p.body.logEvents.some((e: { message: string }) => e.message.includes('"kept-')));
    assert.equal(together.length, 1, 'refused and kept events went in one call');
  });

  it('rides out an outage of several minutes (simulated clock) without slowing ingest, then delivers everything', async (t) => {
    const clock = new SimClock();
    const s = await setup(t, { clock });
    const start = clock.now();
    s.double.outage = (now) => now >= start && now < start + 6 * 60_000;
    await s.ingest(events(100, 'during'));
    const failing = await waitUntil(async () => {
      const status = await s.status();
      return status.state === 'error' && status;
    }, 'the outage to show');
    assert.match(failing.lastError.details, /ServiceUnavailableException/);
    const lagging = await waitUntil(async () => {
      const status = await s.status();
      return status.lagSeconds >= 60 && status;
    }, 'a minute of (simulated) lag');
    assert.equal(lagging.lagEvents, lagging.treeSize - lagging.nextIndex);
    assert.ok(lagging.lagEvents >= 100);
    // Ingest is not held up by the dead destination.
    for (let i = 0; i < 5; i++) await s.ingest(events(100, `more${i}`));
    const status = await s.drained();
    assert.equal(status.state, 'connected');
    assert.ok(clock.now() - start >= 6 * 60_000, 'the simulated outage ran its length');
    const failures = s.double.calls.filter((c) => c.status === 503).length;
    assert.ok(failures >= 4 && failures < 60, `${failures} failed attempts: backoff, not a hot loop`);
    const size = await s.vt.node.store.treeSize(s.project.id);
    assert.equal(deliveryProblem(s.indexes(), size, 1), undefined);
    t.diagnostic(`${failures} failed attempts over ${Math.round((clock.now() - start) / 1000)} simulated seconds`);
  });

  it('reports a missing log group and bad credentials in its status, and recovers when they are fixed', async (t) => {
    const s = await setup(t, { groupExists: false, destination: { secretAccessKey: 'wrong-secret' } });
    await s.ingest(events(10, 'x'));
    let failing = await waitUntil(async () => {
      const status = await s.status();
      return status.state === 'error' && status;
    }, 'the access error to show');
    assert.equal(failing.lastError.message, 'Access denied sending logs to CloudWatch');
    assert.match(failing.lastError.details, /InvalidSignatureException/);
    await s.patch({ secretAccessKey: CREDENTIALS.secretAccessKey });
    failing = await waitUntil(async () => {
      const status = await s.status();
      return status.lastError?.message.includes('does not exist') && status;
    }, 'the missing group to show');
    assert.match(failing.lastError.details, /ResourceNotFoundException/);
    await s.patch({ createLogGroup: true });
    const status = await s.drained();
    assert.equal(status.lastError, null);
    assert.ok(s.double.groups.has(GROUP));
    const size = await s.vt.node.store.treeSize(s.project.id);
    assert.equal(deliveryProblem(s.indexes(), size, 1), undefined);
  });
});
