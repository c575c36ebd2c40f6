/**
 * The load generator, run as its own process (`load.ts` starts it) so that it never shares an
 * event loop with the server or the orchestrator. It takes one LoadConfig over IPC, builds every
 * request buffer before the clock starts, drives the server over keep-alive connections on
 * loopback, and answers with one LoadResult.
 *
 * Two modes:
 *  - closed loop (no `rate`): each connection sends its next request as soon as the last one is
 *    answered: the most the server can do with that many connections;
 *  - open loop (`rate`): requests fall due at fixed times (t0 + i/rate), are released in ~1 ms
 *    timer ticks, and wait for a free connection if none is idle. Latency counts from release,
 *    so a stalled server cannot hide its stall by holding connections (no coordinated omission),
 *    and the generator's timer granularity is not charged to the server.
 *
 * Every request body carries fresh event ids: the pool of bodies is reused, and the 12-digit
 * counter of each id is rewritten in place before each send (events.ts).
 */
import { EventSource, ID_RUN_OFFSET, ID_COUNTER_OFFSET, idCounterOffsets, writeHex } from './events.ts';
import { HttpConnection, type Response } from './http-connection.ts';
import type { LoadConfig, LoadResult, WorkerMessage } from './load.ts';
import { Samples, summarise } from './stats.ts';

/** A hard bound on the requests of one run, whatever the rate (the window bounds time). */
const MAX_REQUESTS = 5_000_000;

interface Prepared {
  buffers: Buffer[];
  /** Per buffer, where each event id's counter sits (empty for GETs). */
  counters: number[][];
  eventsPerRequest: number;
  meanBodyBytes: number;
}

function prepare(config: LoadConfig): Prepared {
  const spec = config.requests;
  const host = `Host: ${config.host}:${config.port}\r\n`;
  if (spec.kind === 'get') {
    const buffers = spec.paths.map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\n${host}Authorization: ${spec.authorization}\r\n\r\n`, 'latin1'));
    return { buffers, counters: buffers.map(() => []), eventsPerRequest: 0, meanBodyBytes: 0 };
  }
  const source = new EventSource(spec.seed);
  const buffers: Buffer[] = [];
  const counters: number[][] = [];
  let bodyBytes = 0;
  const auth = spec.authorization ? `Authorization: ${spec.authorization}\r\n` : '';
  for (let i = 0; i < spec.distinctRequests; i++) {
    const events = Array.from({ length: spec.eventsPerRequest }, () => source.next());
    const body = JSON.stringify(spec.eventsPerRequest === 1 ? events[0] : events);
    const head = `POST ${spec.path} HTTP/1.1\r\n${host}${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const buffer = Buffer.from(head + body, 'latin1');
    const offsets = idCounterOffsets(body).map((at) => head.length + at);
    if (offsets.length !== spec.eventsPerRequest) throw new Error('every event needs one eventID');
    for (const at of offsets) writeHex(buffer, at - ID_COUNTER_OFFSET + ID_RUN_OFFSET, spec.run, 3);
    buffers.push(buffer);
    counters.push(offsets);
    bodyBytes += body.length;
  }
  return { buffers, counters, eventsPerRequest: spec.eventsPerRequest, meanBodyBytes: bodyBytes / spec.distinctRequests };
}

async function run(config: LoadConfig): Promise<LoadResult> {
  const prepared = prepare(config);
  if (prepared.buffers.length < config.connections * 4) throw new Error('the request pool must hold at least 4 requests per connection');
  let next = 0;
  let idCounter = 0;
  const take = (): Buffer => {
    const i = next++ % prepared.buffers.length;
    const buffer = prepared.buffers[i]!;
    // Its previous use was answered long ago (the pool is far larger than the connections).
    for (const at of prepared.counters[i]!) writeHex(buffer, at, idCounter++, 12);
    return buffer;
  };

  // Spread over every server given (several nodes on one store), round robin.
  const ports = config.ports ?? [config.port];
  const connections = Array.from({ length: config.connections }, (_, i) => new HttpConnection(config.host, ports[i % ports.length]!));
  const t0 = performance.now();
  const windowStart = t0 + config.warmupSeconds * 1000;
  const windowEnd = windowStart + config.seconds * 1000;
  const latency = new Samples();
  const service = new Samples();
  const statuses: Record<string, number> = {};
  let completed = 0;
  let ok = 0;
  let errors = 0;
  let inFlight = 0;
  let windowOpen = false;
  let cpuAtStart = process.cpuUsage();
  let windowStartedAt = 0;
  let windowEndedAt = 0;

  const openWindow = () => {
    windowOpen = true;
    windowStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    process.send!({ type: 'window', phase: 'start' } satisfies WorkerMessage);
  };
  let cpuUsed = 0;
  const closeWindow = () => {
    if (!windowOpen) return;
    windowOpen = false;
    windowEndedAt = performance.now();
    const cpu = process.cpuUsage(cpuAtStart);
    cpuUsed = (cpu.user + cpu.system) / 1000;
    process.send!({ type: 'window', phase: 'end' } satisfies WorkerMessage);
  };

  // Open loop: release times of requests not yet sent, oldest first.
  const backlog: number[] = [];
  let issued = 0;
  const open = config.rate !== undefined;

  const record = (result: Response | Error, dueAt: number) => {
    if (!windowOpen) return;
    const now = performance.now();
    if (result instanceof Error) {
      errors++;
      return;
    }
    completed++;
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    if (result.status !== config.expectStatus) return;
    ok++;
    latency.push((now - dueAt) * 1000);
    if (open) service.push((now - result.sentAt) * 1000);
  };

  await new Promise<void>((resolve) => {
    let stopping = false;
    const maybeDone = () => {
      if (stopping && inFlight === 0) resolve();
    };
    const dispatch = (connection: HttpConnection, dueAt: number) => {
      if (next >= MAX_REQUESTS) stopping = true;
      if (stopping) return maybeDone();
      inFlight++;
      connection.send(take(), (result) => {
        inFlight--;
        record(result, result instanceof Error ? dueAt : open ? dueAt : result.sentAt);
        if (!stopping) {
          // After a lost connection, pause briefly rather than spin on a refusing server.
          if (!open && result instanceof Error) setTimeout(() => !stopping && dispatch(connection, 0), 10);
          else if (!open) dispatch(connection, 0);
          else if (backlog.length > 0) dispatch(connection, backlog.shift()!);
        }
        maybeDone();
      });
    };
    if (!open) {
      for (const connection of connections) dispatch(connection, 0);
    } else {
      const perMs = config.rate! / 1000;
      const tick = () => {
        const now = performance.now();
        if (now >= windowEnd) {
          closeWindow();
          stopping = true;
          return maybeDone();
        }
        const due = Math.floor((now - t0) * perMs) + 1;
        // Released now: latency counts from here, so timer granularity is not charged to the
        // server, while any wait for a free connection is.
        for (; issued < due; issued++) backlog.push(now);
        for (const connection of connections) {
          if (backlog.length === 0) break;
          if (!connection.busy) dispatch(connection, backlog.shift()!);
        }
        setTimeout(tick, 1);
      };
      tick();
    }
    // The window is set by the clock, not by answers, so a stall at either edge counts.
    setTimeout(openWindow, windowStart - t0);
    setTimeout(() => {
      closeWindow();
      stopping = true;
      maybeDone();
    }, windowEnd - t0);
    // A server that never answers cannot hang the run.
    setTimeout(resolve, windowEnd - t0 + 15_000).unref();
  });
  closeWindow(); // if the run ended by the safety timer
  for (const connection of connections) connection.close();

  const seconds = (windowEndedAt - windowStartedAt) / 1000;
  return {
    mode: open ? 'open' : 'closed',
    seconds,
    connections: config.connections,
    completed,
    ok,
    rate: completed / seconds,
    okRate: ok / seconds,
    ...(open ? { intendedRate: config.rate!, serviceLatencyUs: summarise(service.values()) } : {}),
    statuses,
    errors,
    latencyUs: summarise(latency.values()),
    generatorCpu: cpuUsed / (windowEndedAt - windowStartedAt),
    eventsPerRequest: prepared.eventsPerRequest,
    meanBodyBytes: prepared.meanBodyBytes,
    backlogAtEnd: backlog.length,
  };
}

process.once('message', (config: LoadConfig) => {
  // Bounded in time whatever happens: warm-up, window, and 30 s to drain and report.
  setTimeout(() => process.exit(3), (config.warmupSeconds + config.seconds + 30) * 1000).unref();
  run(config).then(
    (result) => process.send!({ type: 'result', result } satisfies WorkerMessage, () => process.exit(0)),
    (error: Error) => process.send!({ type: 'error', message: error.stack ?? error.message } satisfies WorkerMessage, () => process.exit(1)),
  );
});
