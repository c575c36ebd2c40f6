/**
 * A small deterministic generator (a linear congruential one) for tests whose data must be the
 * same every run: a failure then names the same input again, and two nodes fed from one seed get
 * the same events.
 */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}
