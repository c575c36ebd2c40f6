/**
 * Receipt latency at half load: single-event POSTs at a fixed rate of 50% of the maximum that
 * ingest-single measured, from 64 keep-alive connections, to a fresh `veritrail serve`; then
 * the bare Fastify route at the very same rate. Latency counts from the moment the generator
 * released a request, including any wait for a free connection (load-worker.ts).
 */
import { atMost, type Figure } from '../lib/figures.ts';
import { describeErrors, type LoadResult } from '../lib/load.ts';
import { eventBodies, ingestOnFreshServer, measureLoad, type Measured } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { startBareHttp } from '../lib/server.ts';
import { SINGLE_CONNECTIONS } from './baseline-http.ts';

const LOAD_SHARE = 0.5;
const PERCENTILES = [
  ['p50', 'p50'],
  ['p99', 'p99'],
  ['p999', 'p99.9'],
] as const;

export const latencyHalfLoad: Scenario = {
  name: 'latency-half-load',
  description: 'single-event receipt latency p50/p99/p99.9 at 50% of the maximum rate, against the bare route at the same rate',
  needs: ['ingest-single'],
  async run(ctx) {
    const max = ctx.shared.get('ingest.single.events_per_s');
    if (!max) throw new Error('ingest-single measured no maximum rate');
    const rate = Math.max(1, Math.round(max * LOAD_SHARE));
    const timing = { warmupSeconds: ctx.pick({ quick: 1, full: 3 }), seconds: ctx.pick({ quick: 4, full: 15 }) };
    ctx.log(`driving ${rate} events/s (${LOAD_SHARE * 100}% of ${Math.round(max)})`);

    const veritrail = await ingestOnFreshServer(ctx, { eventsPerRequest: 1, connections: SINGLE_CONNECTIONS, rate, ...timing });
    const bareServer = await startBareHttp();
    let bare: Measured;
    try {
      bare = await measureLoad(bareServer, {
        host: bareServer.host,
        port: bareServer.port,
        connections: SINGLE_CONNECTIONS,
        rate,
        ...timing,
        expectStatus: 201,
        requests: eventBodies(ctx, '0123456789abcdef01234567', undefined, 1),
      });
    } finally {
      await bareServer.stop();
    }
    ctx.details[this.name] = { rate, veritrail, bare };
    // A server more than 100 ms behind when the window closed did not hold the rate: its latencies are then queueing delays, and the note says so first.
    const held = (load: LoadResult) =>
      `${load.backlogAtEnd > rate / 10 ? 'DID NOT HOLD THE RATE: ' : ''}${Math.round(load.okRate)}/s of ${rate}/s${load.backlogAtEnd ? `, ${load.backlogAtEnd} still waiting at the end` : ''}${describeErrors(load, 201) ? `; ${describeErrors(load, 201)}` : ''}`;
    ctx.log(`Veritrail held ${held(veritrail.load)}; bare route held ${held(bare.load)}`);

    return PERCENTILES.map(([key, label]): Figure => ({
      id: `latency.half_load.${key}_ms`,
      scenario: this.name,
      label: `Receipt latency ${label} at ${rate}/s (50% load)`,
      value: veritrail.load.latencyUs[key] / 1000,
      unit: 'ms',
      baseline: { label: 'bare HTTP', value: bare.load.latencyUs[key] / 1000 },
      ...(key === 'p99' ? { targets: [atMost(2, 'baseline-ratio')] } : {}),
      ...(key === 'p50' ? { note: `achieved: Veritrail ${held(veritrail.load)}; bare ${held(bare.load)}` } : {}),
    }));
  },
};
