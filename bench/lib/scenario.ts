import type { BenchContext } from './context.ts';
import type { Figure } from './figures.ts';

/** One benchmark: a module under bench/scenarios/ that measures and returns its figures. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Scenarios whose shared figures this one compares against; run first, even under --only. */
  readonly needs?: readonly string[];
  run(ctx: BenchContext): Promise<Figure[]>;
}
