/** Preparing events inline and in a worker thread gives the same items, drops and refusals. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { PreparePool } from '../../../src/api/ingest/prepare-pool.ts';
import { INGEST_LIMITS as limits, isDropped, packItems, prepareBody, unpackItems, type PrepareOutcome } from '../../../src/log/prepare.ts';
import { compileAuditPolicy, policyDecider } from '../../../src/policy/audit-policy.ts';

const at = '2026-11-22T10:00:00.000Z';
const project = 'a'.repeat(24);

function comparable(outcome: PrepareOutcome) {
  return outcome.ok
    ? { ok: true, single: outcome.single, items: outcome.items.map((e) => (isDropped(e) ? [e.eventId, e.dropped] : [e.eventId, e.envelope.toString(), e.leafHash.toString('hex'), e.receivedAt])) }
    : outcome;
}

describe('prepare', () => {
  const pool = new PreparePool(2);
  after(() => pool.close());

  const bodies: Array<[string, string, 'json' | 'ndjson']> = [
    ['a batch', JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ eventID: `id-${i}`, b: i, a: 'é', n: { '10': 1, '9': 2 } }))), 'json'],
    ['one event', JSON.stringify({ eventId: 'x', z: 1, y: [true, null] }), 'json'],
    ['NDJSON', '{"eventId":"l1","v":1}\n\n{"eventId":"l2","v":2}\n', 'ndjson'],
    ['not JSON', '{"a":', 'json'],
    ['a scalar', '7', 'json'],
    ['a bad element', '[{"eventId":"ok"},3]', 'json'],
    ['a bad NDJSON line', '{"eventId":"a"}\nnope', 'ndjson'],
    ['an oversize event', JSON.stringify([{ eventId: 'b', big: 'x'.repeat(300_000) }]), 'json'],
    ['a lone surrogate', '[{"eventId":"s","s":"\\udc00"}]', 'json'],
  ];
  for (const [name, text, kind] of bodies) {
    it(`${name}: worker and inline agree`, async () => {
      const body = Buffer.from(text);
      const inline = prepareBody(project, body, kind, at, limits);
      const pooled = await pool.prepare(project, body, kind, at);
      assert.deepEqual(comparable(pooled), comparable(inline));
    });
  }

  it('applies the audit policy in the worker exactly as inline', async () => {
    const config = { enabled: true, auditAuthorizationSuccess: false, configurationType: 'FILTER_JSON' as const, auditFilter: '{"atype": {"$in": ["authenticate", "authCheck"]}}' };
    const body = Buffer.from(
      JSON.stringify([
        { eventId: 'k1', atype: 'authenticate', ts: { $date: '2026-01-01T00:00:00Z' }, result: 0 },
        { eventId: 'd1', atype: 'createCollection', result: 0 },
        { eventId: 'd2', atype: 'authCheck', result: 0 },
        { eventId: 'k2', atype: 'authCheck', result: 13 },
      ]),
    );
    const inline = prepareBody(project, body, 'json', at, limits, policyDecider(compileAuditPolicy(config, 3)));
    const pooled = await pool.prepare(project, body, 'json', at, { version: 3, config });
    assert.deepEqual(comparable(pooled), comparable(inline));
    assert.ok(inline.ok);
    assert.deepEqual(
      inline.items.map((item) => (isDropped(item) ? `${item.eventId}:${item.dropped}` : item.eventId)),
      ['k1', 'd1:FILTER_NOT_MATCHED', 'd2:AUTHORIZATION_SUCCESS_NOT_AUDITED', 'k2'],
    );
  });

  it('packs and unpacks items, drops included, losslessly', () => {
    const outcome = prepareBody(project, Buffer.from('[{"eventId":"ü-1","a":1},{"eventId":"2","b":"\\u0000"},{"eventId":"gone"}]'), 'json', at, limits, (event) =>
      event.eventId === 'gone' ? 'FILTER_NOT_MATCHED' : undefined,
    );
    assert.ok(outcome.ok);
    assert.deepEqual(comparable({ ok: true, single: false, items: unpackItems(packItems(outcome.items), at) }), comparable(outcome));
  });

  // The timeout turns a job left pending forever into a failure, not a hang.
  it('a crashed worker fails its job and is replaced', { timeout: 60_000 }, async () => {
    const small = new PreparePool(1);
    try {
      const workers = (small as unknown as { workers: Array<{ terminate(): Promise<number> }> }).workers;
      const big = Buffer.from(JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ eventId: `big-${i}`, text: 'x'.repeat(100) }))));
      const inFlight = small.prepare(project, big, 'json', at);
      await workers[0]!.terminate();
      await assert.rejects(inFlight, /prepare worker exited/);
      const outcome = await small.prepare(project, Buffer.from('{"eventId":"after"}'), 'json', at);
      assert.ok(outcome.ok);
    } finally {
      await small.close();
    }
  });
});
