/**
 * Webhooks: a POST of a JSON batch, signed with HMAC-SHA256 so the receiver can tell it came
 * from Veritrail and was not altered or replayed:
 *
 *   X-Veritrail-Timestamp: <unix seconds>
 *   X-Veritrail-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *
 * Body: `{"projectId", "destinationId", "events": [<JSON line>, ...]}`, each line as in the
 * native API's export. Any 2xx is delivery; anything else (or no answer) is retried by the
 * destination worker, whatever the status: an audit event is never dropped on a 4xx.
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { WebhookDestination } from './destination.ts';
import { jsonLine, type ForwardEvent } from './forward-event.ts';
import { DeliveryError, errorDetail, type Sink } from './sink.ts';

/** A batch is cut before its body passes this size. */
export const WEBHOOK_MAX_BODY_BYTES = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookSink implements Sink {
  constructor(
    private readonly config: WebhookDestination,
    private readonly projectId: string,
    private readonly destinationId: string,
    /** The HMAC key, opened. */
    private readonly secret: string,
    private readonly clock: Clock,
  ) {}

  async deliver(events: readonly ForwardEvent[], signal: AbortSignal): Promise<number> {
    const head = `{"projectId":"${this.projectId}","destinationId":${JSON.stringify(this.destinationId)},"events":[`;
    const tail = ']}';
    const lines: string[] = [];
    let bytes = Buffer.byteLength(head) + tail.length;
    for (const e of events) {
      const line = jsonLine(e);
      const size = Buffer.byteLength(line) + (lines.length > 0 ? 1 : 0); // and its comma
      if (lines.length > 0 && bytes + size > WEBHOOK_MAX_BODY_BYTES) break;
      lines.push(line);
      bytes += size;
    }
    const body = `${head}${lines.join(',')}${tail}`;
    const timestamp = String(Math.floor(this.clock.now() / 1000));
    let response: Response;
    try {
      response = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'veritrail-forwarder',
          'x-veritrail-timestamp': timestamp,
          'x-veritrail-signature': webhookSignature(this.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        redirect: 'error',
      });
    } catch (error) {
      throw new DeliveryError(`Couldn't reach the webhook at ${new URL(this.config.url).host}`, errorDetail((error as Error).cause ?? error), { cause: error });
    }
    // Read the body so the connection can be reused; its content does not matter.
    const text = await response.text().catch(() => '');
    if (response.status < 200 || response.status >= 300) {
      throw new DeliveryError(`The webhook answered HTTP ${response.status}`, text.slice(0, 500) || `HTTP ${response.status}`);
    }
    return lines.length;
  }

  async close(): Promise<void> {}
}
