/**
 * Retry delays: exponential with "equal jitter" (half fixed, half random), so that a fleet of
 * forwarders that failed together does not retry together, yet none retries at once.
 */

/** The first retry's delay ceiling. */
export const DEFAULT_BACKOFF_BASE_MS = 500;
/** No retry waits longer than this, however long the destination has been down. */
export const DEFAULT_BACKOFF_MAX_MS = 60_000;

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** A number in [0, 1); tests inject their own. */
  random?: () => number;
}

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const ceiling = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return ceiling / 2 + (options.random ?? Math.random)() * (ceiling / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. The default sleep of the forwarder. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
