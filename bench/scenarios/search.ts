/**
 * Search (issue 4) at 1M and 10M events, on the cached event datasets (bench/lib/datasets.ts):
 * a `veritrail serve` on the dataset's directory, its search index built by the server itself
 * on first start (the indexer thread follows the log from 0; the bench waits until the
 * `veritrail_search_lag_events` gauge reads 0, and the index file stays with the dataset), then
 * two query shapes, each asked in turn by one client over keep-alive HTTP, so a figure is the
 * latency a user sees, HTTP included:
 *  - structured: project + a one-hour `from`/`to` window at a random place in the log's span
 *    + `eventName` (any of the generator's actions);
 *  - free text: `q` with one word (a user name, an error code, a region), the whole project.
 * Both ask for the default page (`limit` 100, newest first; spec/api.md).
 */
import type { BenchContext } from '../lib/context.ts';
import { eventDataset, type Dataset } from '../lib/datasets.ts';
import { atMost, type Figure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { ServerProcess } from '../lib/server.ts';
import { prng, summarise, type Summary } from '../lib/stats.ts';
import { EPOCH_MS, EVENT_NAMES, MEAN_GAP_MS } from '../lib/events.ts';

/** Some words the generator's records carry (bench/lib/events.ts: users, error codes, regions). */
const WORDS = ['alice', 'terraform', 'AccessDenied', 'ThrottlingException', 'eu-west-1', 'deploy-bot', 'auditor'];
const HOUR_MS = 3_600_000;
/** Queries asked once, unmeasured, before the measured ones: the connection's first request and cold pages. */
const WARM_UP_QUERIES = 5;
/**
 * How long the server may take to build a dataset's search index: 5 minutes, plus a rate of
 * 2,000 events/s, five times slower than the server's (README: 17 minutes for 10M events).
 */
const indexDeadlineMs = (events: number) => 300_000 + events / 2;

async function waitForIndex(ctx: BenchContext, server: ServerProcess, dataset: Dataset): Promise<number> {
  const started = performance.now();
  const deadline = started + indexDeadlineMs(dataset.size);
  const pattern = new RegExp(`^veritrail_search_lag_events\\{project="${dataset.projectId}"\\} (\\d+)`, 'm');
  let lastLog = 0;
  for (;;) {
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${dataset.orgKey}` } })).text();
    const lag = Number(pattern.exec(text)?.[1] ?? NaN);
    if (lag === 0) return (performance.now() - started) / 1000;
    if (performance.now() > deadline) {
      throw new Error(`the search index of ${dataset.size} events was not built in ${((performance.now() - started) / 1000).toFixed(0)} s: ${Number.isNaN(lag) ? 'no lag gauge for the project' : `${lag} events behind`}`);
    }
    if (performance.now() - lastLog > 15_000) {
      ctx.log(`  search index of ${dataset.size} events: ${Number.isNaN(lag) ? '?' : dataset.size - lag} indexed (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      lastLog = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function timeQueries(server: ServerProcess, dataset: Dataset, paths: string[]): Promise<{ ms: Summary; meanResults: number }> {
  const samples: number[] = [];
  let results = 0;
  for (const path of paths) {
    const started = performance.now();
    const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${dataset.orgKey}` } });
    const body = (await response.json()) as { results?: unknown[] };
    samples.push(performance.now() - started);
    if (response.status !== 200 || !Array.isArray(body.results)) throw new Error(`search ${path} answered ${response.status}: ${JSON.stringify(body).slice(0, 200)}`);
    results += body.results.length;
  }
  return { ms: summarise(samples), meanResults: results / paths.length };
}

export const search: Scenario = {
  name: 'search',
  description: 'search at 1M and 10M events: project + time range + eventName, and free text q: p50/p99 ms over HTTP',
  async run(ctx) {
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    for (const size of ctx.pick({ quick: [1_000_000], full: [1_000_000, 10_000_000] })) {
      const dataset = await eventDataset(ctx, size);
      const server = await ctx.startServer(dataset.dir);
      try {
        const indexSeconds = await waitForIndex(ctx, server, dataset);
        const queries = ctx.pick({ quick: 60, full: 300 });
        const r = prng(size);
        const spanMs = size * MEAN_GAP_MS;
        const base = `/v1/projects/${dataset.projectId}/events`;
        const structuredQueries = (count: number) =>
          Array.from({ length: count }, () => {
            const from = EPOCH_MS + Math.floor(r() * (spanMs - HOUR_MS));
            const name = EVENT_NAMES[Math.floor(r() * EVENT_NAMES.length)]!;
            return `${base}?from=${new Date(from).toISOString()}&to=${new Date(from + HOUR_MS).toISOString()}&eventName=${name}`;
          });
        const textQueries = (count: number) => Array.from({ length: count }, () => `${base}?q=${encodeURIComponent(WORDS[Math.floor(r() * WORDS.length)]!)}`);
        // Warm-up queries of their own, so that no measured query finds its pages already cached.
        await timeQueries(server, dataset, [...structuredQueries(WARM_UP_QUERIES), ...textQueries(WARM_UP_QUERIES)]);
        const timed = { structured: await timeQueries(server, dataset, structuredQueries(queries)), text: await timeQueries(server, dataset, textQueries(queries)) };
        details[size] = { indexSeconds, queries, ...timed };
        const events = `${size / 1e6}M`;
        const at10M = size >= 10_000_000;
        for (const [shape, label, target] of [
          ['structured', 'project+time+eventName', 5],
          ['text', 'free text q', 50],
        ] as const) {
          const { ms, meanResults } = timed[shape];
          const note = `${queries} queries one after another over HTTP; ${meanResults.toFixed(0)} results each on average${indexSeconds > 1 ? `; the index was built first in ${indexSeconds.toFixed(0)} s` : ''}`;
          // Under 100 samples the nearest-rank p99 is the slowest one; the label says so.
          const p99 = queries < 100 ? `p99 (the slowest of ${queries})` : 'p99';
          ctx.log(`search ${label} at ${events}: p50 ${ms.p50.toFixed(2)} ms, ${p99} ${ms.p99.toFixed(2)} ms (${note})`);
          figures.push(
            { id: `search.${shape}.${events}.p50_ms`, scenario: this.name, label: `Search ${label} p50, ${events} events`, value: ms.p50, unit: 'ms', note, ...(at10M ? { targets: [atMost(target)] } : {}) },
            { id: `search.${shape}.${events}.p99_ms`, scenario: this.name, label: `Search ${label} ${p99}, ${events} events`, value: ms.p99, unit: 'ms' },
          );
        }
      } finally {
        await server.stop();
      }
    }
    ctx.details[this.name] = details;
    return figures;
  },
};
