/** The metric table (STYLE.md §12: every metric name is documented; labels come from codes). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { METRICS, createMetrics, outcomeOf } from '../../src/core/metrics.ts';
import { FatalError, VT_ERR_STORE_BUSY } from '../../src/core/errors.ts';

describe('metric table', () => {
  it('names follow Prometheus conventions and no label carries free text', () => {
    for (const [key, row] of Object.entries(METRICS)) {
      assert.match(row.name, /^veritrail_[a-z_]+$/, key);
      assert.equal(row.name.endsWith('_total'), row.kind === 'counter', `${row.name}: counters, and only counters, end in _total`);
      assert.ok(row.help.length > 20, `${row.name} explains itself`);
      for (const label of 'labels' in row ? row.labels : []) assert.ok(['outcome', 'project', 'destination', 'method', 'route', 'status'].includes(label), `${row.name}: label ${label} is bounded`);
    }
  });

  it('every metric is documented in README.md "Operations"', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const operations = readme.slice(readme.indexOf('## Operations'));
    assert.ok(readme.includes('## Operations'));
    for (const row of Object.values(METRICS)) assert.ok(operations.includes(`\`${row.name}\``), `${row.name} is in README.md "Operations"`);
  });

  it('each node gets its own registry, and failures are labelled by their code', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.ingestEvents.inc({ outcome: 'appended' }, 3);
    assert.match(await a.registry.metrics(), /veritrail_ingest_events_total\{outcome="appended"\} 3/);
    assert.doesNotMatch(await b.registry.metrics(), /outcome="appended"/);
    assert.equal(outcomeOf(new VT_ERR_STORE_BUSY(1)), 'VT_ERR_STORE_BUSY');
    assert.equal(outcomeOf(new FatalError('tiles disagree at index 7')), 'VT_ERR_LOG_UNAVAILABLE');
    assert.equal(outcomeOf(new Error('anything at all')), 'VT_ERR_INTERNAL');
  });
});
