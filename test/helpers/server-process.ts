/**
 * A real `veritrail serve` process on a free port, for crash, restart and CLI tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/veritrail.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  firstKey: string | undefined;
  output(): string;
  /** SIGTERM, and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to finish anything. */
  kill9(): Promise<void>;
}

/** `args` are added to the command line, e.g. `['--store', url]` for a PostgreSQL node. */
export async function startServer(dataDir: string, env: Record<string, string> = {}, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', dataDir, '--port', '0', '--origin-host', 'crash.test', '--log-level', 'warn', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const listening = /Veritrail is listening on (http:\/\/[^\s]+)/.exec(out);
      if (listening) {
        clearInterval(poll);
        resolve(listening[1]!);
      } else if (child.exitCode !== null || Date.now() - started > 30_000) {
        clearInterval(poll);
        reject(new Error(`server did not start:\n${out}`));
      }
    }, 20);
  });
  return {
    url,
    child,
    firstKey: /vt_[A-Za-z0-9_-]{43}/.exec(out)?.[0],
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** How long one CLI command may run before runCli kills it: a command that hangs fails its test. */
const CLI_TIMEOUT_MS = 60_000;

/**
 * Runs the CLI to completion. One that runs past the timeout is killed with SIGKILL (SIGTERM
 * could let it exit 0) and comes back with status null and the reason at the end of stderr.
 */
export function runCli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: CLI_TIMEOUT_MS, killSignal: 'SIGKILL' });
  const reason = result.error ? `\nveritrail ${args.join(' ')}: ${result.error.message}` : '';
  return { status: result.status, stdout: result.stdout, stderr: result.stderr + reason };
}

/** fetch with a key. */
export async function api(url: string, key: string, method = 'GET', body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}
