/**
 * The at-least-once contract of src/forward/destination-worker.ts, as a check over the indexes
 * a receiver saw, in arrival order: every index 0..expected-1 arrives; a new index is always
 * the next one (no skip, no reordering); an index seen before may come again only as a resend
 * that starts at most `window` events back (a batch whose acknowledgement was lost).
 */
export function deliveryProblem(indexes: readonly number[], expected: number, window: number): string | undefined {
  let max = -1;
  let prev = -1;
  for (const [position, index] of indexes.entries()) {
    if (index === max + 1) max = index;
    else if (index > max + 1) return `index ${index} arrived (position ${position}) before ${max + 1}: a gap`;
    else if (index !== prev + 1 && max - index >= window) return `index ${index} came again ${max - index + 1} events back, more than the window of ${window}`;
    else if (index !== prev + 1 && index > prev) return `index ${index} arrived after ${prev}, out of order`;
    prev = index;
  }
  if (max !== expected - 1) return `only indexes up to ${max} arrived, of ${expected}`;
  return undefined;
}

/** How many arrivals were repeats. */
export function duplicates(indexes: readonly number[]): number {
  return indexes.length - new Set(indexes).size;
}
