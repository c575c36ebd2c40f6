/** The webhook sink (src/forward/webhook-sink.ts) against the local receiver: how it cuts a batch by size. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/core/clock.ts';
import type { ForwardEvent } from '../../src/forward/forward-event.ts';
import { WEBHOOK_MAX_BODY_BYTES, WebhookSink } from '../../src/forward/webhook-sink.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'a-webhook-secret-of-some-length';

/** An event whose text is `chars` two-byte characters: twice as many UTF-8 bytes as UTF-16 units. */
function wideEvent(index: number, chars: number): ForwardEvent {
  const event = { text: 'é'.repeat(chars) };
  const receivedAt = '2026-06-01T12:00:00.000Z';
  const envelope = Buffer.from(`{"event":${JSON.stringify(event)},"eventId":"e${index}","projectId":"p","receivedAt":"${receivedAt}"}`);
  return { index, eventId: `e${index}`, projectId: 'p', receivedAt, event, envelope };
}

describe('webhook sink', () => {
  it('cuts a batch by the UTF-8 bytes of its body, not its string length', async (t) => {
    const receiver = await startWebhookReceiver(SECRET);
    t.after(() => receiver.close());
    const sink = new WebhookSink({ kind: 'webhook', name: 'w', enabled: true, startFrom: 'now', url: receiver.url, secret: '' }, 'p', 'd', SECRET, systemClock);
    t.after(() => sink.close());
    // Three events of a fifth of the limit in characters (two fifths in bytes): all three fit
    // by string length, only two by bytes.
    const events = [0, 1, 2].map((i) => wideEvent(i, Math.floor(WEBHOOK_MAX_BODY_BYTES / 5)));
    const signal = new AbortController().signal;
    assert.equal(await sink.deliver(events, signal), 2);
    assert.deepEqual(
      receiver.events.map((e) => e.index),
      [0, 1],
    );
    assert.equal(await sink.deliver(events.slice(2), signal), 1);
    assert.equal(receiver.badSignatures, 0);
  });
});
