/**
 * How much of the CPU time this process could use is spare: idle, or waiting for I/O (a CPU
 * free to run anything ready), as a share of all CPU time between one reading and the next.
 * Time spent on niced work counts as busy: a niced thread still takes a share of a contended
 * core.
 *
 * Two readings, and the smaller share counts:
 *  - the CPUs the process may run on (its affinity: a container's cpuset, or taskset). On Linux
 *    their lines of /proc/stat, which also count softirq and steal (a virtual machine's time
 *    taken by its host) as busy; elsewhere os.cpus(), which has no iowait, softirq or steal;
 *  - each CPU quota of its control group and of the group's ancestors (core/cgroup-cpu-reader.ts):
 *    the share of the quota's time that group left unused over the window, and at most the
 *    share of the window outside the periods in which the group was held back at the quota. A
 *    container sees its host's /proc/stat, and held to half a core on an idle host it has none
 *    to spare. (Over a window of a few periods the time a throttled group used swings by a
 *    period's quota with where the window falls; that it was held back is the surer sign.)
 */
import fs from 'node:fs';
import os from 'node:os';
import { cgroupCpuReader, type CgroupQuotaLevel } from './cgroup-cpu-reader.ts';

/** CPU time summed over the CPUs read, since boot, in milliseconds: spare and in all. */
export interface CpuTimes {
  spare: number;
  total: number;
}

/** /proc/stat counts in USER_HZ, which the kernel fixes at 100 for userspace. */
const MS_PER_PROC_STAT_TICK = 10;

/**
 * The times of /proc/stat's CPU lines: user nice system idle iowait irq softirq steal, then
 * guest time, which user and nice already include. Summed over the CPUs in `cpus` (their
 * `cpuN` lines), or over every CPU (the first line, `cpu`) without it or if none is listed.
 */
export function parseProcStat(text: string, cpus?: ReadonlySet<number>): CpuTimes | undefined {
  const lines = text.split('\n');
  let times: CpuTimes | undefined;
  if (cpus) {
    for (const line of lines) {
      const match = /^cpu(\d+)\s/.exec(line);
      if (!match || !cpus.has(Number(match[1]))) continue;
      const one = statTimes(line);
      if (!one) return undefined;
      times = { spare: (times?.spare ?? 0) + one.spare, total: (times?.total ?? 0) + one.total };
    }
  }
  return times ?? (lines[0]!.startsWith('cpu ') ? statTimes(lines[0]!) : undefined);
}

function statTimes(line: string): CpuTimes | undefined {
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const [, , , idle = 0, iowait = 0] = fields;
  return { spare: (idle + iowait) * MS_PER_PROC_STAT_TICK, total: fields.reduce((sum, n) => sum + n, 0) * MS_PER_PROC_STAT_TICK };
}

/** A CPU list as the kernel writes one ("0-3,8,10-11"); undefined if it is not one. */
export function parseCpuList(text: string): Set<number> | undefined {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return undefined;
    for (let cpu = Number(match[1]); cpu <= Number(match[2] ?? match[1]); cpu++) cpus.add(cpu);
  }
  return cpus;
}

/** The CPUs this process may run on (/proc/self/status Cpus_allowed_list); undefined if unknown. */
function allowedCpus(): Set<number> | undefined {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'latin1');
  } catch {
    return undefined;
  }
  const match = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
  return match ? parseCpuList(match[1]!) : undefined;
}

/** The CPU times of the CPUs this process may run on: /proc/stat where there is one, else os.cpus(). */
export function readCpuTimes(): CpuTimes {
  let text: string | undefined;
  try {
    text = fs.readFileSync('/proc/stat', 'latin1');
  } catch {
    // Not Linux: os.cpus() below.
  }
  const fromProc = text === undefined ? undefined : parseProcStat(text, allowedCpus());
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
  /** The quotas of the process's control group and its ancestors; default cgroupCpuReader(). */
  readQuota?(): CgroupQuotaLevel[];
  /** Milliseconds, for the windows (default performance.now). */
  now?(): number;
}

/**
 * A function that returns the share of CPU time (0 to 1) that was spare since it last took a
 * reading, taking a new one once `minIntervalMs` have passed. Before its first window, and where
 * the counters do not move, it reads 1: all spare, nothing to yield to. A reading after a long
 * gap averages over the gap: the first one of a burst after a quiet spell reads spare, and the
 * next, a window later, reads the burst. Under quotas, the share is the smallest of the CPUs'
 * and each quota's (a quota first seen in this window waits for the next).
 */
export function cpuSpareSampler(options: CpuSpareSamplerOptions = {}): () => number {
  const minIntervalMs = options.minIntervalMs ?? DEFAULT_CPU_SAMPLE_MS;
  const read = options.read ?? readCpuTimes;
  const readQuota = options.readQuota ?? cgroupCpuReader();
  const now = options.now ?? (() => performance.now());
  let last = read();
  let lastQuota = readQuota();
  let lastAt = now();
  let share = 1;
  return () => {
    const at = now();
    if (at - lastAt < minIntervalMs) return share;
    const current = read();
    const quota = readQuota();
    const total = current.total - last.total;
    share = total <= 0 ? 1 : (current.spare - last.spare) / total;
    for (const level of quota) {
      const before = lastQuota.find((l) => l.dir === level.dir);
      if (!before) continue;
      const windowMs = at - lastAt;
      const unused = Math.max(0, 1 - (level.usedMs - before.usedMs) / (level.cores * windowMs));
      const heldBack = Math.min(1, ((level.throttled - before.throttled) * level.periodMs) / windowMs);
      share = Math.min(share, unused, 1 - heldBack);
    }
    last = current;
    lastQuota = quota;
    lastAt = at;
    return share;
  };
}
