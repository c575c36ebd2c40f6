/**
 * GET /metrics (Prometheus text format) and what fills the instruments of core/metrics.ts that
 * the HTTP layer sees: one root onResponse hook counts every request by route and status (and
 * ingest bytes by outcome), the sequencer's commit hooks time each durable commit, and the
 * gauges (queue depth, tree sizes, checkpoint age) are read from the node when scraped, so they
 * cost nothing between scrapes and are never stale.
 */
import fp from 'fastify-plugin';
import type { Counter, Histogram } from 'prom-client';
import { METRICS_MAX_PROJECT_SERIES, type Metrics } from '../core/metrics.ts';
import type { SequencerHooks } from '../log/sequencer.ts';
import type { LogAppend } from '../store/store.ts';
import { nativeAuthHook } from './native/auth-hook.ts';
import type { VeritrailNode } from './node.ts';

/**
 * The sequencer's hooks with the commit metrics around `inner` (the test seams a config may
 * give): the time between beforeCommit and afterCommit is exactly the durable append
 * (`LogLock.append`). A commit that fails is not timed (afterCommit is not called for it).
 */
export function meteredCommitHooks(metrics: Metrics, inner: SequencerHooks = {}): SequencerHooks {
  const started = new WeakMap<readonly LogAppend[], number>();
  return {
    async beforeCommit(appends) {
      await inner.beforeCommit?.(appends);
      started.set(appends, performance.now());
    },
    async afterCommit(appends) {
      const start = started.get(appends);
      if (start !== undefined) metrics.commitSeconds.observe((performance.now() - start) / 1000);
      metrics.commitEvents.observe(appends.reduce((n, a) => n + a.entries.length, 0));
      await inner.afterCommit?.(appends);
    },
  };
}

/** Sets the gauges from the node's current state; called for each scrape. */
async function sampleGauges(node: VeritrailNode): Promise<void> {
  const { metrics, store } = node;
  metrics.queueEvents.set(node.sequencer.depth);
  // The system project, then the oldest others: a scrape reads at most METRICS_MAX_PROJECT_SERIES
  // projects, however many there are.
  const oldest = await store.listProjects({ limit: METRICS_MAX_PROJECT_SERIES });
  const projects = [node.systemProjectId, ...oldest.filter((p) => p.id !== node.systemProjectId).map((p) => p.id)].slice(0, METRICS_MAX_PROJECT_SERIES);
  const rows = await Promise.all(
    projects.map(async (project) => ({ project, size: await store.treeSize(project), indexed: await store.searchIndexSize(project), checkpoint: await store.latestCheckpoint(project) })),
  );
  const destinations = await node.forwarder.statuses();
  const now = node.clock.now();
  // Reset and refill in one synchronous step, so a scrape never sees half of each.
  for (const gauge of [metrics.treeSize, metrics.searchLagEvents, metrics.checkpointAge, metrics.checkpointPending, metrics.forwardLagEvents, metrics.forwardLagSeconds, metrics.forwardUp]) gauge.reset();
  for (const { projectId, destinationId, status } of destinations) {
    const labels = { project: projectId, destination: destinationId };
    metrics.forwardLagEvents.set(labels, status.lagEvents);
    metrics.forwardLagSeconds.set(labels, status.lagSeconds);
    metrics.forwardUp.set(labels, status.state === 'connected' ? 1 : 0);
  }
  for (const { project, size, indexed, checkpoint } of rows) {
    metrics.treeSize.set({ project }, size);
    metrics.searchLagEvents.set({ project }, Math.max(0, size - indexed));
    if (!checkpoint) continue;
    metrics.checkpointAge.set({ project }, Math.max(0, (now - Date.parse(checkpoint.createdAt)) / 1000));
    metrics.checkpointPending.set({ project }, size - checkpoint.treeSize);
  }
}

export const metricsPlugin = fp<{ node: VeritrailNode }>(
  async (app, { node }) => {
    const { metrics } = node;

    // The labelled children of each (method, route, status), made once: prom-client hashes a
    // label object on every call, which on the ingest path costs more than the counting itself.
    // Bounded: methods x route patterns x statuses.
    const perRoute = new Map<string, { requests: Counter.Internal; seconds: Histogram.Internal<'method' | 'route'> }>();
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const key = `${request.method} ${route} ${reply.statusCode}`;
      let instruments = perRoute.get(key);
      if (!instruments) {
        instruments = { requests: metrics.httpRequests.labels(request.method, route, String(reply.statusCode)), seconds: metrics.httpSeconds.labels(request.method, route) };
        perRoute.set(key, instruments);
      }
      instruments.requests.inc();
      instruments.seconds.observe(reply.elapsedTime / 1000);
      if (request.routeOptions.config.audit === 'ingest') {
        const outcome = reply.statusCode < 400 ? 'accepted' : (request.failure?.code ?? 'VT_ERR_INTERNAL');
        metrics.ingestBytes.inc({ outcome }, Number(request.headers['content-length']) || 0);
      }
    });

    // Prometheus scrapers usually carry no key, and the server listens on loopback by default;
    // --metrics-access org asks for an ORG_OWNER key (Prometheus: authorization.credentials).
    const org = node.config.metricsAccess === 'org';
    app.get(
      '/metrics',
      {
        config: { access: org ? 'org:admin' : 'public', operation: 'GetMetrics' },
        ...(org ? { onRequest: nativeAuthHook } : {}),
        schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format 0.0.4)', produces: ['text/plain'] },
      },
      async (_request, reply) => {
        await sampleGauges(node);
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    );
  },
  { name: 'veritrail-metrics', dependencies: ['veritrail-services'] },
);
