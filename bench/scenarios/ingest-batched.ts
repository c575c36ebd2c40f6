/**
 * Durable batched ingest: POSTs of 100 generated ~1 KiB events (a JSON array) over 16
 * keep-alive connections to a fresh `veritrail serve`, as fast as it answers; every 201 means
 * the batch was committed (WAL, synchronous=FULL) and sequenced. Compared with raw SQLite
 * inserts of the same rows (baseline-sqlite).
 */
import { atLeast } from '../lib/figures.ts';
import { describeCatchUp, describeMeasured, ingestOnFreshServer, searchableFigure } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { describeErrors } from '../lib/load.ts';

const EVENTS_PER_REQUEST = 100;
const CONNECTIONS = 16;

export const ingestBatched: Scenario = {
  name: 'ingest-batched',
  description: `batches of ${EVENTS_PER_REQUEST} events, ${CONNECTIONS} connections, durable: events/s`,
  needs: ['baseline-sqlite'],
  async run(ctx) {
    const measured = await ingestOnFreshServer(ctx, {
      eventsPerRequest: EVENTS_PER_REQUEST,
      connections: CONNECTIONS,
      warmupSeconds: ctx.pick({ quick: 1, full: 3 }),
      seconds: ctx.pick({ quick: 4, full: 10 }),
      profileName: 'ingest-batched',
      searchable: true,
    });
    const rate = measured.load.okRate * EVENTS_PER_REQUEST;
    ctx.details[this.name] = measured;
    ctx.log(`batched ingest: ${describeMeasured(measured, 'events/s')}; ${describeCatchUp(measured.search!)}`);
    const errors = describeErrors(measured.load, 201);
    return [
      {
        id: 'ingest.batched.events_per_s',
        scenario: this.name,
        label: `Ingest, batches of ${EVENTS_PER_REQUEST}, durable`,
        value: rate,
        unit: 'events/s',
        baseline: { label: 'raw SQLite', value: ctx.shared.get('sqlite.rows_per_s') ?? null },
        targets: [atLeast(50_000), atLeast(0.4, 'baseline-ratio')],
        note: `${CONNECTIONS} connections; server ${(measured.serverCpu * 100).toFixed(0)}% CPU${errors ? `; not counted: ${errors}` : ''}`,
      },
      searchableFigure(measured, {
        id: 'ingest.batched.searchable.events_per_s',
        scenario: this.name,
        label: `Ingest, batches of ${EVENTS_PER_REQUEST}, counted until all searchable`,
      }),
    ];
  },
};
