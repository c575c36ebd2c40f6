/**
 * Configuration of a Veritrail node, with every default in one place and validated once, at
 * start-up, with messages that say how to fix the problem (STYLE.md §9).
 */
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import type { SequencerHooks } from '../log/sequencer.ts';
import type { ForwarderOptions } from '../forward/forwarder.ts';

/** Port `veritrail serve` listens on. */
export const DEFAULT_PORT = 8080;
/** Interface `veritrail serve` listens on: loopback, so a first start exposes nothing. */
export const DEFAULT_HOST = '127.0.0.1';
/** Where the SQLite store, the checkpoint key and the lock file live. */
export const DEFAULT_DATA_DIR = './data';
/** The awsRegion of self-audit records when none is configured: the server is not in AWS. */
export const DEFAULT_REGION = 'local';
/** The largest request body (spec/api.md: 16 MiB per batch). */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

export interface NodeConfig {
  /** Data directory. Default `./data`. Example: `/var/lib/veritrail`. */
  dataDir?: string;
  /** Listen address. Default `127.0.0.1`. Example: `0.0.0.0`. */
  host?: string;
  /** Listen port. Default 8080. 0 picks a free port. */
  port?: number;
  /**
   * The public host name that begins every log origin and names the checkpoint key. Default
   * `<host>:<port>`. Fixed per project once the project exists. Example: `audit.example.com`.
   */
  originHost?: string;
  /** The checkpoint signer key text (`PRIVATE+KEY+...`), instead of the data directory's file. */
  checkpointKey?: string;
  /**
   * The server secret, base64 (32+ bytes), instead of the data directory's `server-secret` file.
   * It encrypts stored secrets that protocols need in clear; nodes sharing a store share it.
   */
  serverSecret?: string;
  /** Milliseconds between checkpoints of a growing log. Default 1000. */
  checkpointIntervalMs?: number;
  /** A store to use instead of the SQLite store in `dataDir` (tests, other engines). */
  store?: Store;
  /** Time source; tests inject one. */
  clock?: Clock;
  /** Test seams around the sequencer's durable step. */
  sequencerHooks?: SequencerHooks;
  /** Queue depth (events) beyond which ingest answers 503 + Retry-After. */
  maxQueuedEvents?: number;
  /**
   * The region written into self-audit records' awsRegion. Default `local`. Example: `eu-west-1`.
   */
  region?: string;
  /** Also record reads of the management API (GET of projects, keys, configuration) in self-audit. Default false. */
  auditReads?: boolean;
  /**
   * Forwarding to destinations: CloudWatch Logs endpoint override and default credentials
   * (else `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` and the standard AWS chain), the syslog HOSTNAME,
   * batch size, and the retry and clock seams tests use. Example: `{ cloudwatch: { endpoint: 'http://127.0.0.1:4566' } }`.
   */
  forwarding?: ForwarderOptions;
  /** Write pino logs (JSON, one line each) to standard output. Default true for serve. */
  log?: boolean | { level?: string; stream?: NodeJS.WritableStream };
}

export interface ResolvedNodeConfig extends NodeConfig {
  dataDir: string;
  region: string;
  host: string;
  port: number;
  originHost: string;
}

/** Applies defaults and validates; throws an Error whose message names the fix. */
export function resolveNodeConfig(config: NodeConfig): ResolvedNodeConfig {
  const host = config.host ?? DEFAULT_HOST;
  const port = config.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port ${config.port} is not a TCP port; give --port a number from 0 to 65535`);
  if (!host) throw new Error('host is empty; give --host an address such as 127.0.0.1');
  const originHost = config.originHost ?? `${host}:${port}`;
  if (!originHost || /[\s+]/.test(originHost)) {
    throw new Error(`origin host ${JSON.stringify(originHost)} may not be empty or hold spaces or '+'; set --origin-host to the public host name`);
  }
  if (config.checkpointIntervalMs !== undefined && !(config.checkpointIntervalMs >= 10)) {
    throw new Error('checkpointIntervalMs must be at least 10');
  }
  const region = config.region ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new Error(`region ${JSON.stringify(region)} must be lowercase letters, digits and dashes, like eu-west-1`);
  return { ...config, host, port, originHost, region, dataDir: config.dataDir ?? DEFAULT_DATA_DIR };
}
