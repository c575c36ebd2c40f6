/** The bench's arithmetic: percentiles, target checks and the table (the bench itself is not run here). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { atLeast, atMost, evaluate, notMeasured } from '../../bench/lib/figures.ts';
import { idCounterOffsets, EventSource, writeHex, ID_COUNTER_OFFSET } from '../../bench/lib/events.ts';
import { percentileSorted, summarise } from '../../bench/lib/stats.ts';
import { formatNumber, renderTable } from '../../bench/lib/table.ts';

describe('bench percentiles', () => {
  it('uses the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentileSorted(sorted, 50), 50);
    assert.equal(percentileSorted(sorted, 99), 99);
    assert.equal(percentileSorted(sorted, 99.9), 100);
    assert.equal(percentileSorted(sorted, 100), 100);
    assert.equal(percentileSorted([7], 50), 7);
    assert.throws(() => percentileSorted([], 50));
    assert.throws(() => percentileSorted(sorted, 0));
  });

  it('summarises unsorted samples without changing them', () => {
    const samples = [5, 1, 4, 2, 3];
    const summary = summarise(samples);
    assert.deepEqual([summary.count, summary.mean, summary.p50, summary.max], [5, 3, 3, 5]);
    assert.deepEqual(samples, [5, 1, 4, 2, 3]);
    assert.ok(Number.isNaN(summarise([]).p50));
  });
});

describe('bench figures and table', () => {
  it('checks targets on the value and on the ratio to the baseline', () => {
    const figure = evaluate({
      id: 'x',
      scenario: 's',
      label: 'Ingest',
      value: 30_000,
      unit: 'events/s',
      baseline: { label: 'raw', value: 60_000 },
      targets: [atLeast(50_000), atLeast(0.4, 'baseline-ratio')],
    });
    assert.equal(figure.baselineRatio, 0.5);
    assert.deepEqual(
      figure.checks.map((c) => [c.ratio, c.pass]),
      [
        [0.6, false],
        [1.25, true],
      ],
    );
    const latency = evaluate({ id: 'y', scenario: 's', label: 'p99', value: 0.5, unit: 'ms', targets: [atMost(1)] });
    assert.deepEqual([latency.checks[0]!.ratio, latency.checks[0]!.pass], [0.5, true]);
  });

  it('shows a figure that is not measured as such, with no ratio and no verdict', () => {
    const figure = evaluate(notMeasured('search', 'z', 'Search p50', 'ms', 'search lands with issue 4', [atMost(5)]));
    assert.equal(figure.checks[0]!.pass, null);
    const table = renderTable([figure]);
    assert.match(table, /Search p50\s+not measured\s+ms/);
    assert.match(table, /not yet measured \(search lands with issue 4\)/);
    assert.doesNotMatch(table, /pass|FAIL/);
  });

  it('formats numbers with about three significant digits', () => {
    assert.deepEqual([formatNumber(51234.6), formatNumber(12.34), formatNumber(0.1234), formatNumber(null)], ['51,235', '12.3', '0.123', '—']);
  });
});

describe('bench events', () => {
  it('are about 1 KiB, ASCII, varied, and have one rewritable id each', () => {
    const source = new EventSource();
    const bodies = Array.from({ length: 200 }, () => JSON.stringify(source.next()));
    const mean = bodies.reduce((sum, b) => sum + b.length, 0) / bodies.length;
    assert.ok(mean > 800 && mean < 1300, `mean size ${mean}`);
    assert.ok(new Set(bodies.map((b) => (JSON.parse(b) as { eventName: string }).eventName)).size > 15);
    const body = Buffer.from(bodies[0]!);
    const [offset] = idCounterOffsets(bodies[0]!);
    writeHex(body, offset!, 0xabcdef, 12);
    const id = (JSON.parse(body.toString()) as { eventID: string }).eventID;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-000000abcdef$/);
    assert.equal(id.slice(ID_COUNTER_OFFSET), '000000abcdef');
  });
});
