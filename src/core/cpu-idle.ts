/**
 * How idle this machine's CPUs are: the share of their time spent idle between one reading and
 * the next. Read from os.cpus(), which is /proc/stat on Linux; time waiting for I/O counts as
 * neither idle nor busy there (libuv leaves it out).
 *
 * A container held back by a CPU quota sees the host's CPUs, and may read idle while it is
 * throttled; whoever acts on the reading then acts as if it had none.
 */
import os from 'node:os';

/** The CPU time counters of every CPU, summed: idle and in all. */
function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { idle, total };
}

/**
 * A function that returns the share of CPU time (0 to 1) spent idle since it last took a
 * reading. It takes a new reading only when `minIntervalMs` have passed since the last one (a
 * shorter window says little); sooner, it returns the share it last read. Before its first
 * window, and where the system reports no CPU times, it reads 1: idle, nothing to yield to.
 */
export function cpuIdleSampler(minIntervalMs = 250, now: () => number = Date.now): () => number {
  let last = cpuTimes();
  let lastAt = now();
  let share = 1;
  return () => {
    if (now() - lastAt < minIntervalMs) return share;
    const current = cpuTimes();
    const total = current.total - last.total;
    if (total > 0) share = (current.idle - last.idle) / total;
    last = current;
    lastAt = now();
    return share;
  };
}
