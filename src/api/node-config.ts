/**
 * Configuration of a Veritrail node, with every default in one place and validated once, at
 * start-up, with messages that say how to fix the problem (STYLE.md §9).
 */
import type { Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { isPostgresUrl } from '../store/postgres/postgres-config.ts';
import type { SequencerHooks } from '../log/sequencer.ts';
import type { ForwarderOptions } from '../forward/forwarder.ts';
import type { SearchPacingConfig } from '../query/search-pacing.ts';

/** Port `veritrail serve` listens on. */
export const DEFAULT_PORT = 8080;
/** Interface `veritrail serve` listens on: loopback, so a first start exposes nothing. */
export const DEFAULT_HOST = '127.0.0.1';
/** Where the SQLite store, the checkpoint key and the lock file live. */
export const DEFAULT_DATA_DIR = './data';
/** The awsRegion of self-audit records when none is configured: the server is not in AWS. */
export const DEFAULT_REGION = 'local';
/** Who may read GET /metrics when nothing is configured: anyone who can reach the port. */
export const DEFAULT_METRICS_ACCESS = 'public';
/**
 * Requests per minute per key (or per address, for requests without one) when nothing is
 * configured: 100,000 a second, more than one node serves, so it never throttles ingest at
 * full speed and only stops a client that has run away. Operators set their own.
 */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6_000_000;
/**
 * Ingest body bytes in flight at once. With the sequencer queue limit this bounds the memory
 * load can pin: each admitted byte costs about two more while it is prepared and sequenced.
 */
export const DEFAULT_INGEST_INFLIGHT_BYTES = 32 * 1024 * 1024;
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
  /**
   * The checkpoint signer key text (`PRIVATE+KEY+...`), instead of the data directory's file.
   * Required, one value for every node, when nodes share a PostgreSQL store.
   */
  checkpointKey?: string;
  /**
   * The server secret, base64 (32+ bytes), instead of the data directory's `server-secret` file.
   * It encrypts stored secrets that protocols need in clear; nodes sharing a store share it.
   */
  serverSecret?: string;
  /**
   * A PostgreSQL URL: when given, the node keeps everything in that database instead of the
   * SQLite store in `dataDir`, and other nodes may share it. Default: none (SQLite). Example:
   * `postgres://veritrail@db.internal:5432/veritrail`.
   */
  storeUrl?: string;
  /** Milliseconds between checkpoints of a growing log. Default 1000. */
  checkpointIntervalMs?: number;
  /** An open store to use instead of opening one from `storeUrl` or `dataDir` (tests). */
  store?: Store;
  /** Time source; tests inject one. */
  clock?: Clock;
  /** Test seams around the sequencer's durable step. */
  sequencerHooks?: SequencerHooks;
  /**
   * Whether search yields to ingest while the machine is saturated (query/search-pacing.ts).
   * Default: on with PostgreSQL, off with SQLite. Examples: `{ enabled: false }`; with
   * PostgreSQL on another machine, `{ assumeSpareShare: 0 }` to yield on this node's backlog
   * alone (`--search-yield backlog`, SEARCH_YIELD_CHOICES).
   */
  searchPacing?: SearchPacingConfig;
  /** Worker threads preparing large ingest bodies (parse, canonicalise, hash). Default: cores - 1; 0: inline. */
  prepareWorkers?: number;
  /** Request body bytes ingest admits at once; beyond, 503 + Retry-After. Default DEFAULT_INGEST_INFLIGHT_BYTES. */
  ingestInflightBytes?: number;
  /**
   * Milliseconds a node applies a project's compiled audit policy before it reads the
   * configuration's version again, to see changes made through other nodes sharing the store.
   * Changes made through this node apply at once. Default 1000 (DEFAULT_POLICY_REFRESH_MS).
   */
  auditPolicyRefreshMs?: number;
  /** Queue depth (events) beyond which ingest answers 503 + Retry-After. */
  maxQueuedEvents?: number;
  /**
   * Revoked, unexpired OAuth access tokens the store's deny list holds at once; a revocation
   * beyond them answers 503 + Retry-After. Default DEFAULT_MAX_REVOKED_TOKENS (100,000).
   */
  maxRevokedTokens?: number;
  /**
   * The region written into self-audit records' awsRegion. Default `local`. Example: `eu-west-1`.
   */
  region?: string;
  /** Also record reads of the management API (GET of projects, keys, configuration) in self-audit. Default false. */
  auditReads?: boolean;
  /**
   * Who may read GET /metrics: `public` (default; Prometheus scrapers usually carry no key, and
   * the default listen address is loopback) or `org` (an ORG_OWNER key, sent as a Bearer token).
   */
  metricsAccess?: 'public' | 'org';
  /**
   * Requests per minute each key (or address, without a key) may make before getting 429 with
   * Retry-After. Default 6,000,000; 0 turns the limit off. Example: 60000.
   */
  rateLimitPerMinute?: number;
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
  metricsAccess: 'public' | 'org';
  rateLimitPerMinute: number;
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
  if (config.storeUrl !== undefined && !isPostgresUrl(config.storeUrl)) {
    throw new Error('the store URL must start with postgres:// or postgresql://; give --store a PostgreSQL URL, or leave it out to use SQLite in --data');
  }
  if (config.checkpointIntervalMs !== undefined && !(config.checkpointIntervalMs >= 10)) {
    throw new Error('checkpointIntervalMs must be at least 10');
  }
  if (config.auditPolicyRefreshMs !== undefined && !(config.auditPolicyRefreshMs >= 0)) throw new Error('auditPolicyRefreshMs must be 0 or more milliseconds');
  const leaseMs = config.forwarding?.leaseMs;
  if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 100)) throw new Error(`forward lease ${leaseMs} must be a whole number of milliseconds, at least 100; give --forward-lease-ms a number such as 45000`);
  const spare = config.searchPacing?.assumeSpareShare;
  if (spare !== undefined && !(spare >= 0 && spare <= 1)) throw new Error(`searchPacing.assumeSpareShare ${spare} must be a share of CPU time, from 0 to 1`);
  const region = config.region ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]{1,64}$/.test(region)) throw new Error(`region ${JSON.stringify(region)} must be lowercase letters, digits and dashes, like eu-west-1`);
  const metricsAccess = config.metricsAccess ?? DEFAULT_METRICS_ACCESS;
  if (metricsAccess !== 'public' && metricsAccess !== 'org') throw new Error(`metrics access ${JSON.stringify(metricsAccess)} is unknown; give --metrics-access public or org`);
  const rateLimitPerMinute = config.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE;
  if (!Number.isSafeInteger(rateLimitPerMinute) || rateLimitPerMinute < 0) {
    throw new Error(`rate limit ${config.rateLimitPerMinute} is not a number of requests per minute; give --rate-limit a whole number (0 turns it off)`);
  }
  return { ...config, host, port, originHost, region, metricsAccess, rateLimitPerMinute, dataDir: config.dataDir ?? DEFAULT_DATA_DIR };
}
