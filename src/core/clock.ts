/**
 * The one source of time. Tests inject their own (STYLE.md §11) instead of patching Date.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** RFC 3339 UTC with milliseconds, the form of every time in the native API. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
