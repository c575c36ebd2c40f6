/**
 * A simulated clock for outage tests (STYLE.md §11): `now()` starts at the real time and only
 * moves when someone sleeps on it or calls `advance`, so minutes of backoff pass in
 * milliseconds. `sleep` yields to real I/O between steps so peers still get to answer.
 */
import type { Clock } from '../../src/core/clock.ts';

export class SimClock implements Clock {
  private t = Date.now();

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
  }

  readonly sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return;
    this.t += ms;
    await new Promise((resolve) => setTimeout(resolve, 2));
  };
}
