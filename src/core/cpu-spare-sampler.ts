/**
 * How much of this machine's CPU time is spare: idle, or waiting for I/O (a CPU free to run
 * anything ready), as a share of all CPU time between one reading and the next. Time spent on
 * niced work counts as busy: a niced thread still takes a share of a contended core.
 *
 * On Linux the counters are /proc/stat's first line, which also counts softirq and steal (a
 * virtual machine's time taken by its host) as busy; elsewhere os.cpus(), which has no iowait,
 * softirq or steal.
 */
import fs from 'node:fs';
import os from 'node:os';

/** CPU time summed over every CPU since boot, in milliseconds: spare and in all. */
export interface CpuTimes {
  spare: number;
  total: number;
}

/** /proc/stat counts in USER_HZ, which the kernel fixes at 100 for userspace. */
const MS_PER_PROC_STAT_TICK = 10;

/**
 * The times on /proc/stat's first line (the sum over every CPU): user nice system idle iowait
 * irq softirq steal, then guest time, which user and nice already include.
 */
export function parseProcStat(text: string): CpuTimes | undefined {
  const [label, ...rest] = text.split('\n', 1)[0]!.trim().split(/\s+/);
  const fields = rest.slice(0, 8).map(Number);
  if (label !== 'cpu' || fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const [, , , idle = 0, iowait = 0] = fields;
  return { spare: (idle + iowait) * MS_PER_PROC_STAT_TICK, total: fields.reduce((sum, n) => sum + n, 0) * MS_PER_PROC_STAT_TICK };
}

/** The machine's CPU times now: /proc/stat where there is one, else os.cpus(). */
export function readCpuTimes(): CpuTimes {
  let text: string | undefined;
  try {
    text = fs.readFileSync('/proc/stat', 'latin1');
  } catch {
    // Not Linux: os.cpus() below.
  }
  const fromProc = text === undefined ? undefined : parseProcStat(text);
  if (fromProc) return fromProc;
  let spare = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    spare += times.idle;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { spare, total };
}

/** A reading window shorter than this says little; a sooner call returns the last share. */
export const DEFAULT_CPU_SAMPLE_MS = 250;

export interface CpuSpareSamplerOptions {
  /** Default DEFAULT_CPU_SAMPLE_MS. */
  minIntervalMs?: number;
  /** Default readCpuTimes (tests give counters of their own). */
  read?(): CpuTimes;
  /** Milliseconds, for the windows (default performance.now). */
  now?(): number;
}

/**
 * A function that returns the share of CPU time (0 to 1) that was spare since it last took a
 * reading, taking a new one once `minIntervalMs` have passed. Before its first window, and where
 * the counters do not move, it reads 1: all spare, nothing to yield to. A reading after a long
 * gap averages over the gap: the first one of a burst after a quiet spell reads spare, and the
 * next, a window later, reads the burst.
 *
 * BUG: a container sees its host's counters. Held to a CPU quota or a cpuset, it may read spare
 * time it cannot use (and never yield), or its neighbours' load (and yield for them). cgroup v2's
 * cpu.stat and cpu.max would say what the container itself has; they are not read.
 */
export function cpuSpareSampler(options: CpuSpareSamplerOptions = {}): () => number {
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_CPU_SAMPLE_MS;
  const read = options.read ?? readCpuTimes;
  const now = options.now ?? (() => performance.now());
  let last = read();
  let lastAt = now();
  let share = 1;
  return () => {
    const at = now();
    if (at - lastAt < minIntervalMs) return share;
    const current = read();
    const total = current.total - last.total;
    share = total <= 0 ? 1 : (current.spare - last.spare) / total;
    last = current;
    lastAt = at;
    return share;
  };
}
