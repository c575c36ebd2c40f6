/**
 * Single-event ingest at the most the server does: one ~1 KiB event per POST, 64 keep-alive
 * connections, each sending its next request when the last is answered. Compared with the bare
 * Fastify route under the same load (baseline-http). Every event carries a fresh id, so every
 * answer should be 201; anything else is counted apart and reported.
 */
import { atLeast } from '../lib/figures.ts';
import { describeErrors } from '../lib/load.ts';
import { describeMeasured, ingestOnFreshServer } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { SINGLE_CONNECTIONS } from './baseline-http.ts';

export const ingestSingle: Scenario = {
  name: 'ingest-single',
  description: `one event per request, ${SINGLE_CONNECTIONS} connections: events/s at the maximum rate`,
  needs: ['baseline-http'],
  async run(ctx) {
    const measured = await ingestOnFreshServer(ctx, {
      eventsPerRequest: 1,
      connections: SINGLE_CONNECTIONS,
      warmupSeconds: ctx.pick({ quick: 1, full: 3 }),
      seconds: ctx.pick({ quick: 4, full: 10 }),
      profileName: 'ingest-single',
    });
    const rate = measured.load.okRate;
    ctx.shared.set('ingest.single.events_per_s', rate);
    ctx.details[this.name] = measured;
    ctx.log(`single-event ingest: ${describeMeasured(measured, 'events/s')}`);
    const errors = describeErrors(measured.load, 201);
    const latency = measured.load.latencyUs;
    return [
      {
        id: 'ingest.single.events_per_s',
        scenario: this.name,
        label: `Ingest, single events, ${SINGLE_CONNECTIONS} connections`,
        value: rate,
        unit: 'events/s',
        baseline: { label: 'bare HTTP', value: ctx.shared.get('http.bare.requests_per_s') ?? null },
        targets: [atLeast(0.5, 'baseline-ratio')],
        note: `at this maximum rate: p50 ${(latency.p50 / 1000).toFixed(1)} ms, p99 ${(latency.p99 / 1000).toFixed(1)} ms; server ${(measured.serverCpu * 100).toFixed(0)}% CPU${errors ? `; not counted: ${errors}` : ''}`,
      },
    ];
  },
};
