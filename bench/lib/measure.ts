/**
 * Load against a server process, with the server's side of the story read from /proc while the
 * window is open: how many cores it used, and its resident memory.
 */
import type { BenchContext } from './context.ts';
import type { Figure } from './figures.ts';
import { runLoad, type LoadConfig, type LoadResult, type RequestSpec } from './load.ts';
import { benchProject, type ServerProcess } from './server.ts';

/** Event ids of the bench's bodies are rewritten per request, so any seed will do; one keeps runs alike. */
const EVENT_SEED = 0x5eed;

export interface Measured {
  load: LoadResult;
  /** Cores the server used during the window (1.0 = one core saturated). */
  serverCpu: number;
  /** Highest VmRSS sampled during the window, and VmHWM (peak since start) at its end, in MiB. */
  rssMaxMiB: number;
  peakMiB: number;
  /** The window on the monotonic clock, in µs (what CPU profiles are stamped with). */
  windowUs: [number, number];
  /** performance.now() when the load (warm-up included) began and when its last answer came. */
  loadMs: [number, number];
  /** With IngestLoad.searchable: how the events became searchable after the load. */
  search?: SearchCatchUp;
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** With several servers (nodes sharing one store), their CPU is summed and their memory is the largest. */
export async function measureLoad(server: ServerProcess | ServerProcess[], config: LoadConfig): Promise<Measured> {
  const servers = Array.isArray(server) ? server : [server];
  const cpuSeconds = () => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
  const memory = () => ({ rssMiB: Math.max(...servers.map((s) => s.memory().rssMiB)), peakMiB: Math.max(...servers.map((s) => s.memory().peakMiB)) });
  let cpuAtStart = 0;
  let startedAt = 0;
  let serverCpu = NaN;
  let rssMaxMiB = 0;
  let peakMiB = NaN;
  const windowUs: [number, number] = [0, 0];
  const sample = () => (rssMaxMiB = Math.max(rssMaxMiB, memory().rssMiB));
  const sampler = setInterval(sample, 250);
  const loadStarted = performance.now();
  try {
    const load = await runLoad(config, {
      onWindow(phase) {
        if (phase === 'start') {
          windowUs[0] = monotonicUs();
          cpuAtStart = cpuSeconds();
          startedAt = performance.now();
          return;
        }
        windowUs[1] = monotonicUs();
        serverCpu = (cpuSeconds() - cpuAtStart) / ((performance.now() - startedAt) / 1000);
        sample();
        peakMiB = memory().peakMiB;
      },
    });
    return { load, serverCpu, rssMaxMiB, peakMiB, windowUs, loadMs: [loadStarted, performance.now()] };
  } finally {
    clearInterval(sampler);
  }
}

/** After a load, how its events became searchable (the index is built behind the log, asynchronously). */
export interface SearchCatchUp {
  /** Entries of the project's log not yet searchable when the load's last answer came. */
  lagAtStop: number;
  /** Seconds from then until every entry was searchable; undefined if that took longer than the wait. */
  seconds?: number;
  /** Entries in the log over the seconds from the load's start until all were searchable. */
  searchableRate?: number;
}

/** The longest a bench waits for the search index to catch up after a load. */
const CATCH_UP_WAIT_MS = 300_000;

/**
 * Polls the server's /metrics (veritrail_search_lag_events and veritrail_log_tree_size of the
 * project) until the search index holds every entry. The acknowledged rate alone would flatter a
 * server whose index falls further behind the longer the load runs.
 */
export async function searchCatchUp(server: ServerProcess, projectId: string, measured: Measured): Promise<SearchCatchUp> {
  const gauge = (text: string, name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{project="${projectId}"}`));
    if (!line) throw new Error(`/metrics has no ${name} for project ${projectId}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const sample = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return { lag: gauge(text, 'veritrail_search_lag_events'), size: gauge(text, 'veritrail_log_tree_size') };
  };
  const stoppedAt = measured.loadMs[1];
  const lagAtStop = (await sample()).lag;
  for (;;) {
    const { lag, size } = await sample();
    const now = performance.now();
    if (lag === 0) return { lagAtStop, seconds: (now - stoppedAt) / 1000, searchableRate: size / ((now - measured.loadMs[0]) / 1000) };
    if (now - stoppedAt > CATCH_UP_WAIT_MS) return { lagAtStop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function describeCatchUp(c: SearchCatchUp): string {
  const caught = c.seconds === undefined ? `not caught up after ${CATCH_UP_WAIT_MS / 1000} s` : `caught up ${c.seconds.toFixed(1)} s after the load stopped`;
  return `search index ${c.lagAtStop.toLocaleString('en-US')} events behind when the load stopped, ${caught}; counted from the load's start, warm-up included`;
}

/** POST bodies of `eventsPerRequest` generated events to a project's ingest route. */
export function eventBodies(ctx: BenchContext, projectId: string, key: string | undefined, eventsPerRequest: number): RequestSpec {
  return {
    kind: 'events',
    path: `/v1/projects/${projectId}/events`,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    eventsPerRequest,
    // Far more requests than connections, so a body is never rewritten while in flight.
    distinctRequests: eventsPerRequest === 1 ? 20_000 : 400,
    run: ctx.nextRun(),
    seed: EVENT_SEED,
  };
}

export interface IngestLoad {
  eventsPerRequest: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Open loop at this many requests/s; closed loop when absent. */
  rate?: number;
  /** Name of the CPU profile written under --profile. */
  profileName?: string;
  /** Also wait for the search index to hold every event (Measured.search). */
  searchable?: boolean;
  /** Runs after the project is made, before the load (e.g. to configure the project). */
  setup?(server: ServerProcess, projectId: string): Promise<void>;
}

/** A fresh `veritrail serve` on an empty data directory, one project, and this load against it. */
export async function ingestOnFreshServer(ctx: BenchContext, options: IngestLoad): Promise<Measured> {
  const server = await ctx.startServer(ctx.tempDir('ingest'), options.profileName);
  let window: [number, number] | undefined;
  try {
    const { projectId, writerKey } = await benchProject(server);
    await options.setup?.(server, projectId);
    const measured = await measureLoad(server, {
      host: server.host,
      port: server.port,
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
      ...(options.rate ? { rate: options.rate } : {}),
      expectStatus: 201,
      requests: eventBodies(ctx, projectId, writerKey, options.eventsPerRequest),
    });
    window = measured.windowUs;
    if (options.searchable) measured.search = await searchCatchUp(server, projectId, measured);
    return measured;
  } finally {
    await server.stop();
    if (options.profileName) ctx.reportProfile(options.profileName, window);
  }
}

/** The figure of the same load counted until every event was searchable (null if it never was). */
export function searchableFigure(measured: Measured, figure: { id: string; scenario: string; label: string; baseline?: Figure['baseline'] }): Figure {
  const search = measured.search;
  if (!search) throw new Error(`${figure.id}: the load was measured without waiting for search`);
  return { ...figure, value: search.searchableRate ?? null, unit: 'events/s', note: describeCatchUp(search) };
}

/** A line for the log: rate, statuses, and both processes' CPU, so a saturated generator shows. */
export function describeMeasured(m: Measured, unit = 'req/s'): string {
  const l = m.load;
  return `${Math.round(l.okRate * Math.max(1, l.eventsPerRequest))} ${unit} over ${l.seconds.toFixed(1)} s; statuses ${JSON.stringify(l.statuses)}, ${l.errors} errors; server ${(m.serverCpu * 100).toFixed(0)}% CPU, generator ${(l.generatorCpu * 100).toFixed(0)}% CPU`;
}
