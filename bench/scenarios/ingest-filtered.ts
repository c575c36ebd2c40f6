/**
 * Ingest with an audit filter on (issue 6: within 10% of ingest without one). The same batched
 * load as ingest-batched, on fresh servers, run back to back without and with a filter (twice
 * each in a full run, alternating, and the better of each kept, so that a passing disturbance on
 * the machine does not decide the ratio). The filter is the kind a project would set, a MongoDB
 * query with a regex and an `$or`, and every generated event matches it, so both runs record the
 * same events and the difference is the cost of deciding.
 */
import { atLeast } from '../lib/figures.ts';
import { describeMeasured, ingestOnFreshServer, type Measured } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { call } from '../lib/server.ts';

const EVENTS_PER_REQUEST = 100;
const CONNECTIONS = 16;
const FILTER = JSON.stringify({ $or: [{ eventSource: { $regex: '\\.amazonaws\\.com$' } }, { readOnly: true }] });

export const ingestFiltered: Scenario = {
  name: 'ingest-filtered',
  description: `batches of ${EVENTS_PER_REQUEST} events with an audit filter on, against the same load without one: events/s`,
  async run(ctx) {
    const rounds = ctx.pick({ quick: 1, full: 2 });
    const best: { plain?: Measured; filtered?: Measured } = {};
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['plain', 'filtered'] as const) {
        const measured = await ingestOnFreshServer(ctx, {
          eventsPerRequest: EVENTS_PER_REQUEST,
          connections: CONNECTIONS,
          warmupSeconds: ctx.pick({ quick: 1, full: 3 }),
          seconds: ctx.pick({ quick: 4, full: 8 }),
          ...(kind === 'filtered'
            ? {
                async setup(server, projectId) {
                  await call(server, server.firstKey!, 'PATCH', `/v1/projects/${projectId}/audit-config`, { enabled: true, auditFilter: FILTER });
                },
              }
            : {}),
        });
        ctx.log(`${kind === 'plain' ? 'no filter' : 'with a filter'}, round ${round + 1}: ${describeMeasured(measured, 'events/s')}`);
        if (!best[kind] || measured.load.okRate > best[kind].load.okRate) best[kind] = measured;
      }
    }
    ctx.details[this.name] = { filter: FILTER, ...best };
    const rate = (m: Measured) => m.load.okRate * EVENTS_PER_REQUEST;
    return [
      {
        id: 'ingest.batched.filtered.events_per_s',
        scenario: this.name,
        label: `Ingest, batches of ${EVENTS_PER_REQUEST}, audit filter on`,
        value: rate(best.filtered!),
        unit: 'events/s',
        baseline: { label: 'no filter, same run', value: rate(best.plain!) },
        targets: [atLeast(0.9, 'baseline-ratio')],
        note: `filter ${FILTER} (every event matches); best of ${rounds} alternating run(s) each`,
      },
    ];
  },
};
