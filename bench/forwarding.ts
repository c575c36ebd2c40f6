/**
 * Forwarding throughput while ingesting: a real node (SQLite in a temporary directory) takes
 * EVENTS events through the appender (the path every API uses, minus HTTP) from 8 concurrent
 * producers in batches of 500, while one destination forwards them to a local sink on
 * 127.0.0.1: a syslog TCP listener (octet-counted frames) or a webhook HTTP server.
 *
 *   node --import tsx bench/forwarding.ts [syslog|webhook] [EVENTS] [--backlog]
 *
 * Prints the ingest rate, the forwarding rate over the whole run (first event in to last
 * event out), and the lag left when ingest finished. Self-contained: no bench harness needed.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { isoTime } from '../src/core/clock.ts';
import { VeritrailNode } from '../src/api/node.ts';
import type { DestinationKind } from '../src/forward/destination.ts';
import { newDestination, splitSecrets, type DestinationInput } from '../src/forward/destination-input.ts';

const kind = (process.argv[2] === '--sink-child' ? process.argv[3] : (process.argv[2] ?? 'syslog')) as 'syslog' | 'webhook';
const total = Number(process.argv[3] ?? 200_000);
/** `--backlog`: ingest with the destination disabled, then enable it and time the drain alone. */
const backlog = process.argv.includes('--backlog');
const BATCH = 500;
const PRODUCERS = 8;

/**
 * The sink runs in its own process (this file with `--sink-child`), as a real receiver would:
 * in this one, the sequencer's synchronous commits would also starve the receiver.
 */
async function runSinkChild(kind: string): Promise<void> {
  let received = 0;
  process.on('message', () => process.send!({ count: received }));
  if (kind === 'syslog') {
    const server = net.createServer((socket) => {
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
        let at = 0;
        for (;;) {
          const space = pending.indexOf(0x20, at);
          if (space < 0) break;
          const end = space + 1 + Number(pending.toString('ascii', at, space));
          if (end > pending.length) break;
          received++;
          at = end;
        }
        pending = pending.subarray(at);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    process.send!({ target: { kind: 'syslog', host: '127.0.0.1', port: (server.address() as AddressInfo).port, format: 'json' } });
    return;
  }
  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received += (JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] }).events.length;
    response.writeHead(204).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.send!({ target: { kind: 'webhook', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, secret: 'bench-secret-0123456789' } });
}

/** Where the sink child listens, as a destination's kind and native API fields. */
type SinkTarget = DestinationInput & { kind: DestinationKind };

async function startSink(): Promise<{ target: SinkTarget; count(): Promise<number>; close(): void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--sink-child', kind], { execArgv: ['--import', 'tsx'] });
  const [{ target }] = (await once(child, 'message')) as [{ target: SinkTarget }];
  return {
    target,
    async count() {
      child.send('count');
      const [{ count }] = (await once(child, 'message')) as [{ count: number }];
      return count;
    },
    close: () => child.kill(),
  };
}

if (process.argv[2] === '--sink-child') {
  await runSinkChild(process.argv[3]!);
} else {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-bench-fwd-'));
  const node = await VeritrailNode.open({ dataDir, port: 0, originHost: 'bench.test', log: false });
  const sink = await startSink();
  try {
    const project = await node.createProject('bench');
    const { kind: targetKind, ...input } = sink.target;
    const { fields, secrets } = splitSecrets(targetKind, input);
    const destination = (enabled: boolean) => node.destinations.write(project.id, 'bench', () => newDestination(targetKind, { ...fields, name: 'bench', enabled, startFrom: 'beginning' }), { secrets });
    await destination(!backlog);
    const started = performance.now();
    let next = 0;
    const producer = async () => {
      while (next < total) {
        const from = next;
        next += BATCH;
        const events = Array.from({ length: Math.min(BATCH, total - from) }, (_, i) => ({ eventName: 'Login', actor: `user${(from + i) % 97}`, sourceIPAddress: '203.0.113.7', n: from + i, pad: 'x'.repeat(120) }));
        await node.appender.append(project.id, node.appender.prepare(project.id, events, isoTime(Date.now())));
      }
    };
    await Promise.all(Array.from({ length: PRODUCERS }, producer));
    const ingested = performance.now();
    const lagAtEnd = total - (await sink.count());
    if (backlog) await destination(true);
    const drainStarted = performance.now();
    while ((await sink.count()) < total) await new Promise((resolve) => setTimeout(resolve, 5));
    const done = performance.now();
    const status = await node.forwarder.status(project.id, 'bench');
    console.log(
      JSON.stringify({
        sink: kind,
        mode: backlog ? 'ingest, then drain the backlog' : 'forward while ingesting',
        events: total,
        ingestPerSecond: Math.round(total / ((ingested - started) / 1000)),
        forwardPerSecond: Math.round(total / ((done - started) / 1000)),
        lagWhenIngestEnded: lagAtEnd,
        drainAfterIngestMs: Math.round(done - ingested),
        ...(backlog ? { drainPerSecond: Math.round(total / ((done - drainStarted) / 1000)) } : {}),
        finalLagEvents: status?.lagEvents,
        cpus: os.cpus().length,
      }),
    );
  } finally {
    sink.close();
    await node.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
