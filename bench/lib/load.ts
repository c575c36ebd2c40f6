/**
 * Starts the load generator (load-worker.ts) in its own process and returns what it measured.
 *
 * Why not autocannon: its rate limit lets each connection send its whole per-second quota
 * back to back at the start of every second (a burst, not a rate), and it records latency in
 * whole milliseconds; half-load latency on loopback is a fraction of a millisecond. A raw
 * keep-alive client with pre-built request buffers is a hundred lines and needs no dependency.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from './stats.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-worker.ts');

export type RequestSpec =
  /** POSTs of generated CloudTrail-style events, 1 per body (an object) or n (an array). */
  | { kind: 'events'; path: string; authorization?: string; eventsPerRequest: number; distinctRequests: number; run: number; seed: number }
  /** GETs cycling through these paths. */
  | { kind: 'get'; paths: string[]; authorization: string };

export interface LoadConfig {
  host: string;
  port: number;
  /** Servers to spread the connections over, round robin (nodes sharing one store); default [port]. */
  ports?: number[];
  connections: number;
  /** Load before the measured window, not counted. */
  warmupSeconds: number;
  seconds: number;
  /** Requests per second overall (open loop); absent: as fast as answered (closed loop). */
  rate?: number;
  /** Responses with another status are counted apart and left out of the latencies. */
  expectStatus: number;
  requests: RequestSpec;
}

export interface LoadResult {
  mode: 'closed' | 'open';
  /** Length of the measured window. */
  seconds: number;
  connections: number;
  /** Responses received in the window, and how many had the expected status. */
  completed: number;
  ok: number;
  rate: number;
  okRate: number;
  intendedRate?: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
  /** Requests lost to a connection error. */
  errors: number;
  /** Closed loop: from write to response. Open loop: from release by the pacer (queueing included). */
  latencyUs: Summary;
  /** Open loop only: from write to response. */
  serviceLatencyUs?: Summary;
  /** Cores the generator used during the window (1.0 = one core saturated). */
  generatorCpu: number;
  eventsPerRequest: number;
  meanBodyBytes: number;
  /** Open loop: requests due but not sent when the window closed (the server fell behind). */
  backlogAtEnd: number;
}

export type WorkerMessage =
  | { type: 'window'; phase: 'start' | 'end' }
  | { type: 'result'; result: LoadResult }
  | { type: 'error'; message: string };

export interface LoadHooks {
  /** Called when the measured window opens and closes (for sampling the server). */
  onWindow?(phase: 'start' | 'end'): void;
}

export function runLoad(config: LoadConfig, hooks: LoadHooks = {}): Promise<LoadResult> {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send(config);
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'window') hooks.onWindow?.(message.phase);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
      } else {
        settled = true;
        reject(new Error(`the load generator failed: ${message.message}`));
      }
    });
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`the load generator exited with code ${code} before reporting`));
    });
  });
}

/** Non-expected statuses and connection errors, in words ("" when there were none). */
export function describeErrors(result: LoadResult, expected: number): string {
  const other = Object.entries(result.statuses).filter(([status]) => Number(status) !== expected);
  const parts = other.map(([status, count]) => `${count} × ${status}`);
  if (result.errors > 0) parts.push(`${result.errors} connection errors`);
  return parts.join(', ');
}
