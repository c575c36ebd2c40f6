/** The pure PutLogEvents cutter (src/forward/cloudwatch-batch.ts) at each limit's boundary. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cutBatch, PUT_LOG_EVENTS_MAX_BYTES } from '../../src/forward/cloudwatch-batch.ts';
import type { ForwardEvent } from '../../src/forward/forward-event.ts';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const event = (index: number, receivedAt = at(NOW)): ForwardEvent => ({ index, eventId: `e${index}`, projectId: 'p', receivedAt, event: {}, envelope: Buffer.from('{}') });

describe('cutBatch', () => {
  it('cuts at 10,000 events', () => {
    const batch = cutBatch(Array.from({ length: 10_001 }, (_, i) => event(i)), () => 'x', NOW);
    assert.equal(batch.count, 10_000);
  });

  it('cuts at exactly 1,048,576 UTF-8 bytes counting 26 per event', () => {
    // 4 messages of (2^18 - 26) bytes fill the limit exactly; a fifth of one character does not
    // fit. Each 'é' is two bytes, so counting characters instead would let all five through.
    const chars = [(2 ** 18 - 26) / 2, (2 ** 18 - 26) / 2, (2 ** 18 - 26) / 2, (2 ** 18 - 26) / 2, 1];
    const batch = cutBatch(chars.map((_, i) => event(i)), (e) => 'é'.repeat(chars[e.index]!), NOW);
    assert.equal(batch.count, 4);
    assert.equal(batch.logEvents.reduce((sum, e) => sum + Buffer.byteLength(e.message) + 26, 0), PUT_LOG_EVENTS_MAX_BYTES);
  });

  it('replaces a message too large on its own (in UTF-8 bytes) with a stub that names the event', () => {
    const batch = cutBatch([event(7)], () => 'é'.repeat(PUT_LOG_EVENTS_MAX_BYTES / 2), NOW);
    assert.equal(batch.count, 1);
    assert.equal(batch.stubbed, 1);
    assert.equal(JSON.parse(batch.logEvents[0]!.message).index, 7);
  });

  it('never spans more than 24 hours, and sorts a call by time, stable for equal times', () => {
    const times = [NOW - 30 * 3600_000, NOW - 30 * 3600_000, NOW - 6 * 3600_000 + 1, NOW - 7 * 3600_000, NOW];
    const batch = cutBatch(times.map((t, i) => event(i, at(t))), (e) => `m${e.index}`, NOW);
    assert.equal(batch.count, 2, 'the third event is 24 h + 1 ms after the first');
    const rest = cutBatch(times.slice(2).map((t, i) => event(i + 2, at(t))), (e) => `m${e.index}`, NOW);
    assert.equal(rest.count, 3);
    assert.deepEqual(rest.logEvents.map((e) => e.message), ['m3', 'm2', 'm4']);
  });

  it('re-stamps events older than 14 days or over 2 hours ahead into the accepted window', () => {
    const old = cutBatch([event(0, at(NOW - 20 * 24 * 3600_000))], () => 'm', NOW);
    const ahead = cutBatch([event(1, at(NOW + 5 * 3600_000))], () => 'm', NOW);
    assert.equal(old.clamped + ahead.clamped, 2);
    assert.ok(old.logEvents[0]!.timestamp > NOW - 14 * 24 * 3600_000);
    assert.ok(ahead.logEvents[0]!.timestamp < NOW + 2 * 3600_000);
  });
});
