/**
 * Forwarding survives `kill -9`: a real server process delivers to the local CloudWatch Logs
 * protocol double, which stores each PutLogEvents batch and answers slowly, so every kill lands
 * in the middle of a delivery. After each restart delivery resumes from the durable cursor:
 * every event arrives, in order, and the only repeats are the batch that was in flight.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { api, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';
import { startCloudWatchLogsDouble } from '../helpers/cloudwatch-logs-double.ts';
import { deliveryProblem, duplicates } from '../helpers/delivery-order.ts';
import { waitUntil } from '../helpers/wait.ts';
import { DEFAULT_FORWARD_BATCH_EVENTS } from '../../src/forward/destination-worker.ts';

const GROUP = 'crash-group';

describe('forwarding crash safety', () => {
  it('kill -9 mid-delivery loses no event; repeats stay within the batch in flight', async (t) => {
    const double = await startCloudWatchLogsDouble();
    t.after(() => double.close());
    double.groups.set(GROUP, new Map());
    double.delayMs = 300;
    const dataDir = tempDir('vt-fwd-crash-');
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let server = await startServer(dataDir);
    t.after(() => server.kill9());
    const org = server.firstKey!;
    const project = (await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'fwd-crash' })).json()) as { id: string };
    const created = await api(`${server.url}/v1/projects/${project.id}/destinations`, org, 'POST', {
      kind: 'cloudwatch',
      region: 'us-east-1',
      logGroupName: GROUP,
      endpoint: double.endpoint,
      accessKeyId: 'AKIDLOCALTEST',
      secretAccessKey: 'local-secret-key',
      startFrom: 'beginning',
    });
    const text = await created.text();
    assert.equal(created.status, 201, text);
    const destination = (JSON.parse(text) as { id: string }).id;
    const stored = () => [...(double.groups.get(GROUP)?.values() ?? [])].flat().map((e) => (JSON.parse(e.message) as { index: number }).index);

    for (let cycle = 0; cycle < 3; cycle++) {
      for (let batch = 0; batch < 4; batch++) {
        const events = Array.from({ length: 500 }, (_, i) => ({ eventId: `c${cycle}-${batch}-${i}`, action: 'fs_write_data', pad: 'x'.repeat(100) }));
        const response = await api(`${server.url}/v1/projects/${project.id}/events`, org, 'POST', events);
        assert.equal(response.status, 201);
      }
      // Kill while a PutLogEvents call is stored but not yet answered.
      await waitUntil(() => double.inFlight > 0, `a delivery in flight in cycle ${cycle}`, 30_000, 2);
      await server.kill9();
      server = await startServer(dataDir);
    }

    const status = await waitUntil(async () => {
      const body = (await (await api(`${server.url}/v1/projects/${project.id}/destinations/${destination}/status`, org)).json()) as { lagEvents: number; treeSize: number };
      return body.lagEvents === 0 && body;
    }, 'delivery to finish after the last restart', 120_000, 100);
    const indexes = stored();
    assert.equal(deliveryProblem(indexes, status.treeSize, DEFAULT_FORWARD_BATCH_EVENTS), undefined);
    assert.ok(duplicates(indexes) > 0, 'the batches stored but not acknowledged before each kill came again');
    t.diagnostic(`${status.treeSize} events, ${indexes.length} stored, ${duplicates(indexes)} repeats after 3 kill -9 during delivery`);
    assert.equal(await server.stop(), 0);
  });
});
