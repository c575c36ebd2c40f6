/**
 * The PostgreSQL engine (issue 5) does not exist yet. When it lands, this module runs the two
 * ingest scenarios against a server on PostgreSQL, and a baseline of raw multi-row `pg` INSERTs
 * of the same rows, as baseline-sqlite.ts does for SQLite.
 */
import { atLeast, notMeasured } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';

const WHY = 'PostgreSQL engine lands with issue 5';

export const postgres: Scenario = {
  name: 'postgres',
  description: 'the ingest figures on PostgreSQL against raw multi-row pg INSERTs (not yet measurable)',
  async run() {
    return [
      notMeasured(this.name, 'baseline.pg.rows_per_s', 'Baseline: raw pg multi-row INSERTs, 100/statement', 'rows/s', WHY),
      notMeasured(this.name, 'ingest.batched.pg.events_per_s', 'Ingest on PostgreSQL, batches of 100', 'events/s', WHY, [atLeast(50_000)]),
      notMeasured(this.name, 'ingest.single.pg.events_per_s', 'Ingest on PostgreSQL, single events', 'events/s', WHY),
    ];
  },
};
