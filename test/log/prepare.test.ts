/** Preparing events inline and in a worker thread gives the same entries and the same refusals. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { PreparePool } from '../../src/log/prepare-pool.ts';
import { packEvents, prepareBody, unpackEvents, type PrepareOutcome } from '../../src/log/prepare.ts';

const limits = { maxEvents: 10_000, maxEventBytes: 256 * 1024 };
const at = '2026-11-22T10:00:00.000Z';
const project = 'a'.repeat(24);

function comparable(outcome: PrepareOutcome) {
  return outcome.ok ? { ok: true, single: outcome.single, events: outcome.events.map((e) => [e.eventId, e.envelope.toString(), e.leafHash.toString('hex'), e.receivedAt]) } : outcome;
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
      const pooled = await pool.prepare(project, body, kind, at, limits);
      assert.deepEqual(comparable(pooled), comparable(inline));
    });
  }

  it('packs and unpacks events losslessly', () => {
    const outcome = prepareBody(project, Buffer.from('[{"eventId":"ü-1","a":1},{"eventId":"2","b":"\\u0000"}]'), 'json', at, limits);
    assert.ok(outcome.ok);
    assert.deepEqual(comparable({ ok: true, single: false, events: unpackEvents(packEvents(outcome.events), at) }), comparable(outcome));
  });

  it('a crashed worker fails its job and is replaced', async () => {
    const small = new PreparePool(1);
    try {
      const workers = (small as unknown as { workers: Array<{ terminate(): Promise<number> }> }).workers;
      await workers[0]!.terminate();
      const outcome = await small.prepare(project, Buffer.from('{"eventId":"after"}'), 'json', at, limits);
      assert.ok(outcome.ok);
    } finally {
      await small.close();
    }
  });
});
