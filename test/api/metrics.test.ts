/**
 * GET /metrics: the Prometheus text format, and each metric of core/metrics.ts filled with the
 * values the calls made here must produce.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { METRICS } from '../../src/core/metrics.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

/** The value of the one sample with this name and (at least) these labels; undefined if none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found.length <= 1, `one sample ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

describe('metrics', () => {
  it('exports every metric of the table, with the values of the calls made', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const events = `/v1/projects/${p.id}/events`;
    const bodies = [JSON.stringify({ eventId: 'a' }), JSON.stringify([{ eventId: 'b' }, { eventId: 'c' }, { eventId: 'a' }]), JSON.stringify({ eventId: 'd' })];
    for (const body of bodies.slice(0, 2)) assert.equal((await vt.call(p.writer, 'POST', events, body, { 'content-type': 'application/json' })).statusCode, 201);
    const invalid = JSON.stringify([{ ok: 1 }, 'not an object']);
    assert.equal((await vt.call(p.writer, 'POST', events, invalid, { 'content-type': 'application/json' })).statusCode, 400);
    const conflict = JSON.stringify([{ eventId: 'e' }, { eventId: 'a', changed: true }]);
    assert.equal((await vt.call(p.writer, 'POST', events, conflict, { 'content-type': 'application/json' })).statusCode, 409);
    // A destination that delivers nothing yet (disabled, from the log's beginning): it lags by
    // the whole log and is not up.
    const hook = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/destinations`, { kind: 'webhook', url: 'http://127.0.0.1:9/x', secret: 'webhook-secret-0123456789', enabled: false, startFrom: 'beginning' });
    assert.equal(hook.statusCode, 201, hook.body);
    const destination = hook.json<{ id: string }>().id;
    assert.equal((await vt.call(p.writer, 'POST', `${events}?wait=checkpoint`, bodies[2], { 'content-type': 'application/json' })).statusCode, 201);
    assert.equal((await vt.call(undefined, 'GET', '/no/such/route')).statusCode, 404);

    const response = await vt.call(undefined, 'GET', '/metrics');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const samples = parse(response.body);

    for (const row of Object.values(METRICS)) {
      assert.ok(
        samples.some((s) => s.name === row.name || s.name.startsWith(`${row.name}_`)),
        `${row.name} has samples: a metric in the table is one the server fills`,
      );
    }
    assert.equal(value(samples, 'veritrail_ingest_events_total', { outcome: 'appended' }), 4);
    assert.equal(value(samples, 'veritrail_ingest_events_total', { outcome: 'duplicate' }), 1);
    assert.equal(value(samples, 'veritrail_ingest_events_total', { outcome: 'VT_ERR_EVENT_ID_CONFLICT' }), 2, 'a conflict refuses the whole request');
    assert.equal(value(samples, 'veritrail_ingest_events_total', { outcome: 'VT_ERR_BATCH_INVALID' }), undefined, 'a body refused while read is counted by its bytes');
    assert.equal(value(samples, 'veritrail_ingest_bytes_total', { outcome: 'accepted' }), bodies.reduce((n, b) => n + Buffer.byteLength(b), 0));
    assert.equal(value(samples, 'veritrail_ingest_bytes_total', { outcome: 'VT_ERR_BATCH_INVALID' }), Buffer.byteLength(invalid));
    assert.equal(value(samples, 'veritrail_ingest_bytes_total', { outcome: 'VT_ERR_EVENT_ID_CONFLICT' }), Buffer.byteLength(conflict));

    // Every entry of every log came through a commit on this fresh node (the project's events,
    // and the CreateProject record in the system log).
    let entries = 0;
    for (const project of await vt.node.store.listProjects()) {
      const size = await vt.node.store.treeSize(project.id);
      entries += size;
      assert.equal(value(samples, 'veritrail_log_tree_size', { project: project.id }), size, project.name);
    }
    assert.equal(value(samples, 'veritrail_forward_lag_events', { project: p.id, destination }), await vt.node.store.treeSize(p.id));
    // The search index follows the log; once a search has read its own writes, nothing is left to index.
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/events`)).statusCode, 200);
    const after = parse((await vt.call(undefined, 'GET', '/metrics')).body);
    assert.equal(value(after, 'veritrail_search_lag_events', { project: p.id }), 0);
    assert.equal(value(samples, 'veritrail_forward_up', { project: p.id, destination }), 0);
    assert.ok(value(samples, 'veritrail_forward_lag_seconds', { project: p.id, destination })! > 0);
    assert.equal(value(samples, 'veritrail_commit_batch_events_sum'), entries);
    const commits = value(samples, 'veritrail_commit_batch_events_count')!;
    assert.ok(commits >= 1 && commits <= entries);
    assert.equal(value(samples, 'veritrail_commit_duration_seconds_count'), commits, 'every successful commit is timed');
    assert.equal(value(samples, 'veritrail_sequencer_queue_events'), 0);
    assert.equal(value(samples, 'veritrail_checkpoint_pending_entries', { project: p.id }), 0, '?wait=checkpoint returned, so a checkpoint covers the log');
    assert.ok(value(samples, 'veritrail_checkpoint_age_seconds', { project: p.id })! >= 0);

    const ingestRoute = { method: 'POST', route: '/v1/projects/:projectId/events' };
    assert.equal(value(samples, 'veritrail_http_requests_total', { ...ingestRoute, status: '201' }), 3);
    assert.equal(value(samples, 'veritrail_http_requests_total', { ...ingestRoute, status: '400' }), 1);
    assert.equal(value(samples, 'veritrail_http_requests_total', { ...ingestRoute, status: '409' }), 1);
    assert.equal(value(samples, 'veritrail_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 1);
    assert.equal(value(samples, 'veritrail_http_request_duration_seconds_count', ingestRoute), 5);
    assert.ok(value(samples, 'process_cpu_user_seconds_total')! > 0, "Node's process metrics are there too");
    assert.ok(!response.body.includes(p.writer) && !/vt_[A-Za-z0-9_-]{43}/.test(response.body));
  });

  it('with --metrics-access org, /metrics needs an ORG_OWNER key', async (t) => {
    const vt = await build(t, { metricsAccess: 'org' });
    const p = await vt.project();
    assert.equal((await vt.call(undefined, 'GET', '/metrics')).statusCode, 401);
    assert.equal((await vt.call(p.owner, 'GET', '/metrics')).statusCode, 403);
    const ok = await vt.call(vt.orgKey, 'GET', '/metrics');
    assert.equal(ok.statusCode, 200);
    assert.match(ok.body, /^# HELP /m);
  });
});
