/**
 * Server processes under test, each on a free loopback port: `veritrail serve` (as a user runs
 * it, optionally under `--cpu-prof`) and the bare Fastify baseline. Adapted from
 * test/helpers/server-process.ts, plus what a benchmark reads from /proc: CPU time and memory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/veritrail.js');
const BARE = path.join(ROOT, 'bench/lib/bare-server.ts');
/** The origin host of every log the bench creates. */
export const ORIGIN_HOST = 'bench.veritrail';
const CLOCK_TICKS = 100;

export interface ServerProcess {
  url: string;
  host: string;
  port: number;
  pid: number;
  /** The ORG_OWNER key printed on a first start, if this was one. */
  firstKey: string | undefined;
  output(): string;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  /** Resident memory now and at its peak (VmRSS, VmHWM), in MiB. */
  memory(): { rssMiB: number; peakMiB: number };
  /** SIGTERM, and wait for a clean exit (SIGKILL after 60 s). */
  stop(): Promise<number | null>;
}

/** The Node.js flags `npm start` gives the server (package.json), so the bench runs it as users do. */
const START_NODE_FLAGS: string[] = (() => {
  const start = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(1, words.indexOf('bin/veritrail.js')).filter((word) => word.startsWith('--'));
})();

/**
 * Starts `veritrail serve`; with `profileDir`, under `node --cpu-prof` writing there on exit.
 * `extra` adds arguments and environment (a PostgreSQL node's --store, key and secret).
 */
export function startVeritrail(dataDir: string, profileDir?: string, extra: { args?: string[]; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const execArgv = [...START_NODE_FLAGS, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
  return spawnServer([...execArgv, BIN, 'serve', '--data', dataDir, '--port', '0', '--origin-host', ORIGIN_HOST, '--log-level', 'warn', ...(extra.args ?? [])], extra.env);
}

export function startBareHttp(): Promise<ServerProcess> {
  return spawnServer(['--import', 'tsx', BARE]);
}

async function spawnServer(args: string[], env?: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const listening = /is listening on (http:\/\/[^\s]+)/.exec(out);
      if (listening) {
        clearInterval(poll);
        resolve(listening[1]!);
      } else if (child.exitCode !== null || Date.now() - started > 60_000) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`server did not start:\n${out}`));
      }
    }, 20);
  });
  const pid = child.pid!;
  const parsed = new URL(url);
  return {
    url,
    host: parsed.hostname,
    port: Number(parsed.port),
    pid,
    firstKey: /vt_[A-Za-z0-9_-]{43}/.exec(out)?.[0],
    output: () => out,
    cpuSeconds() {
      // Fields after the command name: state is 3rd, utime 14th and stime 15th of the line.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    memory() {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** One authenticated JSON call; throws with the body on an unexpected status. */
export async function call<T>(server: ServerProcess, key: string, method: string, route: string, body?: unknown, expect = 200): Promise<T> {
  const response = await fetch(server.url + route, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status !== expect) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
  return (response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
}

/** A project and a PROJECT_WRITER key in it, made through the API with the first key. */
export async function benchProject(server: ServerProcess): Promise<{ projectId: string; writerKey: string }> {
  const org = server.firstKey;
  if (!org) throw new Error('the server printed no ORG_OWNER key; it needs an empty data directory');
  const { id } = await call<{ id: string }>(server, org, 'POST', '/v1/projects', { name: 'bench' }, 201);
  const { key } = await call<{ key: string }>(server, org, 'POST', `/v1/projects/${id}/keys`, { role: 'PROJECT_WRITER', description: 'bench load' }, 201);
  return { projectId: id, writerKey: key };
}
