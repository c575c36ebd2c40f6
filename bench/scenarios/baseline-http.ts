/**
 * The HTTP limit: a bare Fastify route answering 201 `{}` (bench/lib/bare-server.ts) in its own
 * process, driven by the same generator with the same settings as single-event ingest: 64
 * keep-alive connections, the same ~1 KiB bodies. Its rate also shows the generator is not the
 * bottleneck: Veritrail's single-event rate should sit well below it.
 */
import { eventBodies, describeMeasured, measureLoad } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { startBareHttp } from '../lib/server.ts';

export const SINGLE_CONNECTIONS = 64;

export const baselineHttp: Scenario = {
  name: 'baseline-http',
  description: 'bare Fastify route answering 201 {}, 64 keep-alive connections, same bodies and generator',
  async run(ctx) {
    const server = await startBareHttp();
    try {
      const measured = await measureLoad(server, {
        host: server.host,
        port: server.port,
        connections: SINGLE_CONNECTIONS,
        warmupSeconds: ctx.pick({ quick: 1, full: 3 }),
        seconds: ctx.pick({ quick: 4, full: 10 }),
        expectStatus: 201,
        requests: eventBodies(ctx, '0123456789abcdef01234567', undefined, 1),
      });
      ctx.shared.set('http.bare.requests_per_s', measured.load.okRate);
      ctx.details[this.name] = measured;
      ctx.log(`bare Fastify: ${describeMeasured(measured)}`);
      return [
        {
          id: 'baseline.http.requests_per_s',
          scenario: this.name,
          label: 'Baseline: bare Fastify 201 route',
          value: measured.load.okRate,
          unit: 'req/s',
          note: `generator used ${(measured.load.generatorCpu * 100).toFixed(0)}% of a core, the server ${(measured.serverCpu * 100).toFixed(0)}%`,
        },
      ];
    } finally {
      await server.stop();
    }
  },
};
