/**
 * Search (issue 4) does not exist yet. When `GET /v1/projects/{id}/events` lands, this module
 * builds the 1M and 10M event datasets (eventDataset in bench/lib/datasets.ts), starts a server
 * on each and times the two query shapes below, like proofs.ts does for proofs.
 */
import { atMost, notMeasured, type Figure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';

const WHY = 'search lands with issue 4';

export const search: Scenario = {
  name: 'search',
  description: 'search at 1M and 10M events: project + time range + eventName, and free text q (not yet measurable)',
  async run() {
    const figures: Figure[] = [];
    for (const size of ['1M', '10M']) {
      const at10M = size === '10M';
      figures.push(
        notMeasured(this.name, `search.structured.${size}.p50_ms`, `Search project+time+eventName p50, ${size} events`, 'ms', WHY, at10M ? [atMost(5)] : undefined),
        notMeasured(this.name, `search.structured.${size}.p99_ms`, `Search project+time+eventName p99, ${size} events`, 'ms', WHY),
        notMeasured(this.name, `search.text.${size}.p50_ms`, `Search free text q p50, ${size} events`, 'ms', WHY, at10M ? [atMost(50)] : undefined),
        notMeasured(this.name, `search.text.${size}.p99_ms`, `Search free text q p99, ${size} events`, 'ms', WHY),
      );
    }
    return figures;
  },
};
