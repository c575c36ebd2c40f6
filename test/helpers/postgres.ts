/**
 * A throwaway PostgreSQL 15 cluster for the tests that run on the PostgreSQL engine: once per
 * test process, in a temporary directory owned by the `postgres` user, on a free loopback port.
 * It is stopped and removed when the process exits, whether the tests passed or not.
 *
 * The binaries come from Debian's `postgresql` package; when they are missing the harness
 * installs it (`apt-get install -y postgresql`), so CI needs nothing beyond `npm test`.
 * PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDebianTool } from './debian.ts';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  /** The URL of a new, empty database in the cluster. */
  createDatabase(): Promise<string>;
  /** Drops a database made by createDatabase, closing any connection still open to it. */
  dropDatabase(url: string): Promise<void>;
  /** The URL of the cluster's `postgres` database, for tests that inspect the server itself. */
  adminUrl: string;
}

let cluster: Promise<PostgresCluster> | undefined;
let databases = 0;

/** Runs `fn` with a session of its own on the database at `url`, ended afterwards whatever happens. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The cluster of this test process, started on first use. */
export function postgresCluster(): Promise<PostgresCluster> {
  cluster ??= startCluster();
  return cluster;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the user that owns the cluster; returns its exit status. */
function asOwner(command: string, args: string[]): ReturnType<typeof spawnSync> {
  const binary = path.join(BIN, command);
  return process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', binary, ...args], { encoding: 'utf8' })
    : spawnSync(binary, args, { encoding: 'utf8' });
}

function runAsOwner(command: string, args: string[]): void {
  const result = asOwner(command, args);
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${String(result.stderr)}${String(result.stdout)}`);
}

async function startCluster(): Promise<PostgresCluster> {
  ensureDebianTool('pg_ctl', 'postgresql', [BIN]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-pg-'));
  const dataDir = path.join(dir, 'data');
  if (process.getuid?.() === 0) fs.chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  const stop = () => {
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) asOwner('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // 'exit' runs after a failed test too; the signals cover an interrupted run.
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

  const port = await freePort();
  runAsOwner('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // Durable settings (fsync, synchronous_commit) stay at their defaults: the tests exercise the
  // same commit path as production. The socket lives in the temporary directory.
  const settings = [`-p ${port}`, `-k ${dir}`, `-c listen_addresses=127.0.0.1`, '-c max_connections=200', '-c shared_buffers=64MB'];
  runAsOwner('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'server.log'), '-o', settings.join(' '), '-w', '-t', '60', 'start']);

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => withClient(adminUrl, fn);
  return {
    adminUrl,
    async createDatabase() {
      const name = `vt_${process.pid}_${++databases}`;
      await admin((client) => client.query(`CREATE DATABASE ${name}`));
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async dropDatabase(url) {
      const name = new URL(url).pathname.slice(1);
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
