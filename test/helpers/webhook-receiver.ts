/**
 * A local webhook receiver (node:http on 127.0.0.1) that checks each delivery's HMAC signature
 * and records the events in arrival order. `fail(n)` answers the next n requests with 500.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { webhookSignature } from '../../src/forward/webhook-sink.ts';

export interface ReceivedEvent {
  index: number;
  eventId: string;
  leafHash: string;
  event: Record<string, unknown>;
}

export interface WebhookReceiver {
  url: string;
  events: ReceivedEvent[];
  /** Requests whose signature did not verify (they are answered 401 and not recorded). */
  badSignatures: number;
  fail(n: number): void;
  /** Resolves once at least `n` events arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  let failures = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const receiver: WebhookReceiver = {
    url: '',
    events: [],
    badSignatures: 0,
    fail: (n) => (failures = n),
    waitFor(n, timeoutMs = 60_000) {
      if (receiver.events.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${receiver.events.length} of ${n} events arrived`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (failures > 0) {
      failures--;
      response.writeHead(500).end('try later');
      return;
    }
    const timestamp = String(request.headers['x-veritrail-timestamp']);
    if (request.headers['x-veritrail-signature'] !== webhookSignature(secret, timestamp, body)) {
      receiver.badSignatures++;
      response.writeHead(401).end();
      return;
    }
    receiver.events.push(...(JSON.parse(body) as { events: ReceivedEvent[] }).events);
    response.writeHead(204).end();
    for (const waiter of waiters.filter((w) => receiver.events.length >= w.n)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  server.keepAliveTimeout = 1000;
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
