/**
 * Every metric Veritrail exports, declared once in one table (STYLE.md "What not to copy":
 * Tessera's per-metric boilerplate). `createMetrics()` turns the table into prom-client
 * instruments on a registry of their own, so two nodes in one process never share counters.
 *
 * To add a metric (the forwarder's lag, say): add a row here, set it where the value is known,
 * and list it in README.md "Operations"; test/core/metrics.test.ts checks the README. Add a row
 * only together with the code that fills it: a metric that is always empty misleads.
 *
 * Labels have bounded values (STYLE.md §8): outcomes are fixed words or catalogued error codes,
 * never messages; routes are route patterns, never URLs; projects are ids, at most
 * METRICS_MAX_PROJECT_SERIES of them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FatalError, VeritrailError } from './errors.ts';

/** Per-project series (tree size, checkpoint age) are exported for at most this many projects. */
export const METRICS_MAX_PROJECT_SERIES = 1000;

interface MetricRow {
  kind: 'counter' | 'gauge' | 'histogram';
  name: string;
  help: string;
  labels?: readonly string[];
  buckets?: readonly number[];
}

const POWERS_OF_TWO = Array.from({ length: 14 }, (_, i) => 2 ** i); // 1 .. 8192, the largest commit
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METRICS = {
  ingestEvents: {
    kind: 'counter',
    name: 'veritrail_ingest_events_total',
    help: 'Events read from ingest requests, by outcome: appended, duplicate (already in the log; the original receipt was returned), dropped (not recorded by the project\'s audit configuration), or the error code that refused their request afterwards (a body refused while it was read counts in veritrail_ingest_bytes_total only).',
    labels: ['outcome'],
  },
  ingestBytes: {
    kind: 'counter',
    name: 'veritrail_ingest_bytes_total',
    help: 'Bytes of ingest request bodies (their Content-Length), by outcome: accepted, or the error code that refused the request.',
    labels: ['outcome'],
  },
  commitEvents: {
    kind: 'histogram',
    name: 'veritrail_commit_batch_events',
    help: 'Events appended by one durable commit of the sequencer (group commit batch size, across logs).',
    buckets: POWERS_OF_TWO,
  },
  commitSeconds: {
    kind: 'histogram',
    name: 'veritrail_commit_duration_seconds',
    help: "Duration of the sequencer's durable step (the store transaction that appends a batch), successful or not.",
    buckets: SECONDS,
  },
  queueEvents: {
    kind: 'gauge',
    name: 'veritrail_sequencer_queue_events',
    help: 'Events waiting for the sequencer (ingest answers 503 beyond the configured maximum).',
  },
  treeSize: {
    kind: 'gauge',
    name: 'veritrail_log_tree_size',
    help: "Entries in a project's log.",
    labels: ['project'],
  },
  checkpointAge: {
    kind: 'gauge',
    name: 'veritrail_checkpoint_age_seconds',
    help: "Seconds since a project's newest signed checkpoint. A quiet log's checkpoint grows old by design; alert on it only with veritrail_checkpoint_pending_entries > 0.",
    labels: ['project'],
  },
  checkpointPending: {
    kind: 'gauge',
    name: 'veritrail_checkpoint_pending_entries',
    help: "Entries of a project's log not yet covered by a signed checkpoint.",
    labels: ['project'],
  },
  searchLagEvents: {
    kind: 'gauge',
    name: 'veritrail_search_lag_events',
    help: "Committed entries of a project's log not yet in its search index (they are found by search once indexed).",
    labels: ['project'],
  },
  searchYieldSeconds: {
    kind: 'counter',
    name: 'veritrail_search_yield_seconds_total',
    help: 'Seconds the search indexer rested to leave the CPUs to events waiting for a commit (on PostgreSQL by default: while ingest has a backlog and less than a tenth of the CPU time is spare); search lags meanwhile.',
  },
  forwardLagEvents: {
    kind: 'gauge',
    name: 'veritrail_forward_lag_events',
    help: "Committed entries of a project's log a destination has not yet been sent.",
    labels: ['project', 'destination'],
  },
  forwardLagSeconds: {
    kind: 'gauge',
    name: 'veritrail_forward_lag_seconds',
    help: 'Age in seconds (by receivedAt) of the oldest entry a destination has not yet been sent; 0 when caught up.',
    labels: ['project', 'destination'],
  },
  forwardUp: {
    kind: 'gauge',
    name: 'veritrail_forward_up',
    help: 'Whether a destination delivers: 1 when its state is connected, 0 when connecting, in error or disabled.',
    labels: ['project', 'destination'],
  },
  httpRequests: {
    kind: 'counter',
    name: 'veritrail_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern (or "unmatched") and status.',
    labels: ['method', 'route', 'status'],
  },
  httpSeconds: {
    kind: 'histogram',
    name: 'veritrail_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route pattern.',
    labels: ['method', 'route'],
    buckets: SECONDS,
  },
} as const satisfies Record<string, MetricRow>;

type Labels<R> = R extends { labels: readonly (infer L extends string)[] } ? L : never;
type Instrument<R> = R extends { kind: 'counter' } ? Counter<Labels<R>> : R extends { kind: 'gauge' } ? Gauge<Labels<R>> : Histogram<Labels<R>>;

/** The instruments of METRICS, by the table's keys, and the registry /metrics renders. */
export type Metrics = { readonly [K in keyof typeof METRICS]: Instrument<(typeof METRICS)[K]> } & { readonly registry: Registry };

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Node's own process metrics (CPU, memory, event loop lag, GC) under their standard names.
  collectDefaultMetrics({ register: registry });
  const instruments = Object.entries(METRICS as Record<string, MetricRow>).map(([key, row]) => {
    const config = { name: row.name, help: row.help, labelNames: [...(row.labels ?? [])], registers: [registry] };
    if (row.kind === 'counter') return [key, new Counter(config)];
    if (row.kind === 'gauge') return [key, new Gauge(config)];
    return [key, new Histogram({ ...config, buckets: [...row.buckets!] })];
  });
  return { registry, ...Object.fromEntries(instruments) } as Metrics;
}

/** The outcome label of a failure: its catalogued code, never its message. */
export function outcomeOf(error: unknown): string {
  if (error instanceof VeritrailError) return error.code;
  if (error instanceof FatalError) return 'VT_ERR_LOG_UNAVAILABLE';
  return 'VT_ERR_INTERNAL';
}
