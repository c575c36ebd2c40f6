/**
 * PostgreSQL ending a node's sessions while requests are in flight (a restart, a failover, an
 * administrator's pg_terminate_backend): the node must keep running, answer what it could not
 * do with 503 and Retry-After (not 500, not a crash), and serve again once PostgreSQL is back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { build } from '../helpers/app.ts';
import { postgresCluster } from '../helpers/postgres.ts';
import { ENGINES } from '../helpers/stores.ts';
import { waitUntil } from '../helpers/wait.ts';

const WRITERS = 6;
const ROUNDS = 6;

describe('PostgreSQL sessions ending under load', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, () => {
  it('the node keeps running, answers every request 201 or 503 with Retry-After, keeps every acknowledged event, and serves again', async (t) => {
    const vt = await build(t, { engine: 'postgres' });
    const p = await vt.project();
    const database = new URL(vt.node.config.storeUrl!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: (await postgresCluster()).adminUrl });
    await admin.connect();
    t.after(() => admin.end());

    const statuses = new Map<number, number>();
    const retryAfter = new Set<unknown>();
    let stop = false;
    let sent = 0;
    const acknowledged: string[] = [];
    const ingest = async () => {
      const events = Array.from({ length: 20 }, () => ({ eventId: `e${sent++}`, action: 'write', actor: { id: 'writer' } }));
      const reply = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events);
      statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
      if (reply.statusCode === 201) acknowledged.push(...events.map((event) => event.eventId));
      if (reply.statusCode === 503) retryAfter.add(reply.headers['retry-after']);
      return reply.statusCode;
    };
    const writers = Array.from({ length: WRITERS }, async () => {
      while (!stop) await ingest();
    });
    let terminated = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { rows } = await admin.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::integer AS n FROM pg_stat_activity WHERE datname = $1', [database]);
      terminated += rows[0]!.n;
    }
    stop = true;
    await Promise.all(writers);

    assert.ok(terminated >= ROUNDS, `sessions were terminated (${terminated})`);
    assert.deepEqual(
      [...statuses.keys()].filter((status) => status !== 201 && status !== 503),
      [],
      `every answer was 201 or 503: ${JSON.stringify([...statuses])}`,
    );
    assert.ok((statuses.get(201) ?? 0) > 0);
    for (const value of retryAfter) assert.equal(value, '1', 'a 503 says when to retry');
    // PostgreSQL is back: the node commits and searches. A session whose end has not reached
    // the node yet may still refuse one more request with 503, as a client would be told.
    assert.equal(await waitUntil(async () => (await ingest()) === 201, 'a commit after the outage', 5000), true);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/events?limit=1`)).statusCode, 200);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/checkpoint`)).statusCode, 200);
    assert.equal((await vt.node.store.findByEventIds(p.id, acknowledged)).size, acknowledged.length, 'every acknowledged event is in the log');
  });
});
