/**
 * The CPU time a control group's quota lets this process use, and how much of it the group has
 * used: what a container has of its own, where /proc/stat shows only the host's. A node held to
 * half a core on an idle host has no CPU to spare, and the host's counters would say it has
 * plenty (core/cpu-spare-sampler.ts reads both).
 *
 * The quota that binds is the tightest of the process's cgroup and its ancestors (Kubernetes
 * sets one on the pod and one on each container): cgroup v2 `cpu.max` ("max" or "<quota>
 * <period>", in µs), or cgroup v1 `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`. The
 * time used is that group's, everything in it included: v2 `cpu.stat` usage_usec, v1
 * `cpuacct.usage` (ns) in the cpuacct hierarchy, at the same place as the cpu group; and the
 * periods it was held back for having used its quota, `cpu.stat` nr_throttled.
 *
 * Where the groups are found: /proc/self/cgroup names the process's group in each hierarchy,
 * and /proc/self/mountinfo where each hierarchy is mounted and which part of it (a container
 * usually sees its own group as the root of the mount).
 */
import fs from 'node:fs';
import path from 'node:path';

/** A control group's CPU quota, and the CPU time the group has used under it. */
export interface CgroupCpu {
  /** Cores' worth of CPU time the quota allows per unit of wall-clock time (quota / period). */
  cores: number;
  /** CPU time used by the group that holds the quota, everything in it included, in ms. */
  usedMs: number;
  /**
   * Periods in which that group ran out of its quota and was held back (`cpu.stat`
   * nr_throttled, v1 and v2). A window with one had no CPU to spare, whatever its average says:
   * over a few periods the time used swings by a period's quota with where the window starts.
   */
  throttled: number;
}

/** Where the files are read: the real /proc and /sys, or a copy of them (tests). */
export interface CgroupSources {
  /** /proc/self/mountinfo */
  mountinfo: string;
  /** /proc/self/cgroup */
  cgroup: string;
  /** Prefixed to every mount point read from mountinfo (default ''). */
  fsRoot?: string;
}

interface CgroupMount {
  version: 1 | 2;
  /** v1: the controllers mounted there (cpu, cpuacct, ...); v2: none listed. */
  controllers: Set<string>;
  /** The part of the hierarchy mounted (mountinfo's root field). */
  root: string;
  mountPoint: string;
}

/** The cgroup mounts of a /proc/self/mountinfo text. */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [, , , root, mountPoint] = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    if (!root || !mountPoint) continue;
    if (fsType === 'cgroup2') mounts.push({ version: 2, controllers: new Set(), root, mountPoint });
    else if (fsType === 'cgroup') mounts.push({ version: 1, controllers: new Set(superOptions.split(',')), root, mountPoint });
  }
  return mounts;
}

/** The lines of /proc/self/cgroup: `0::<path>` for v2, `<id>:<controllers>:<path>` for v1. */
function parseProcCgroup(text: string): Array<{ version: 1 | 2; controllers: Set<string>; path: string }> {
  const groups = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.+)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, groupPath] = match;
    groups.push({ version: id === '0' && controllers === '' ? (2 as const) : (1 as const), controllers: new Set(controllers!.split(',')), path: groupPath! });
  }
  return groups;
}

/**
 * The directory of the process's group in `mount`, then each ancestor up to the mount point;
 * none if the group lies outside the part of the hierarchy mounted.
 */
function groupDirs(mount: CgroupMount, groupPath: string, fsRoot: string): string[] {
  const root = mount.root === '/' ? '' : mount.root;
  if (root && groupPath !== root && !groupPath.startsWith(`${root}/`)) return [];
  const top = path.join(fsRoot, mount.mountPoint);
  const dirs = [path.join(top, groupPath.slice(root.length).replace(/^\/+/, ''))];
  while (dirs.at(-1)!.length > top.length) dirs.push(path.dirname(dirs.at(-1)!));
  return dirs;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** v2: `cpu.max` as cores, undefined for "max" or no file. */
function v2Cores(dir: string): number | undefined {
  const [quota, period] = (readText(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/).map(Number);
  return quota! > 0 && period! > 0 ? quota! / period! : undefined;
}

/** A counter of a `cpu.stat` file ("<name> <value>" lines). */
function statCounter(dir: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(readText(path.join(dir, 'cpu.stat')) ?? '');
  return match ? Number(match[1]) : undefined;
}

function v2UsedMs(dir: string): number | undefined {
  const usec = statCounter(dir, 'usage_usec');
  return usec === undefined ? undefined : usec / 1000;
}

/** v1: `cpu.cfs_quota_us` over `cpu.cfs_period_us` as cores, undefined for -1 or no file. */
function v1Cores(dir: string): number | undefined {
  const quota = Number(readText(path.join(dir, 'cpu.cfs_quota_us')));
  const period = Number(readText(path.join(dir, 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : undefined;
}

function v1UsedMs(dir: string): number | undefined {
  const text = readText(path.join(dir, 'cpuacct.usage'));
  return text === undefined || !/^\d+\s*$/.test(text) ? undefined : Number(text) / 1e6;
}

/** The tightest quota among `dirs`, with the directory that holds it. */
function tightest(dirs: readonly string[], cores: (dir: string) => number | undefined): { dir: string; cores: number } | undefined {
  let best: { dir: string; cores: number } | undefined;
  for (const dir of dirs) {
    const c = cores(dir);
    if (c !== undefined && (!best || c < best.cores)) best = { dir, cores: c };
  }
  return best;
}

/**
 * A reader of this process's CPU quota and its use, over the groups found once from `sources`
 * (the quota itself is read anew each time, so a resized container is followed). Returns
 * undefined when no quota applies (no group, "max", -1) or its use cannot be read.
 */
export function cgroupCpuReader(sources: CgroupSources = procSources()): () => CgroupCpu | undefined {
  const fsRoot = sources.fsRoot ?? '';
  const mounts = parseCgroupMounts(sources.mountinfo);
  const groups = parseProcCgroup(sources.cgroup);
  const v2Mount = mounts.find((m) => m.version === 2);
  const v2Group = groups.find((g) => g.version === 2);
  const v2Dirs = v2Mount && v2Group ? groupDirs(v2Mount, v2Group.path, fsRoot) : [];
  const v1 = (controller: string) => {
    const mount = mounts.find((m) => m.version === 1 && m.controllers.has(controller));
    const group = groups.find((g) => g.version === 1 && g.controllers.has(controller));
    return mount && group ? { mount, dirs: groupDirs(mount, group.path, fsRoot) } : undefined;
  };
  const cpu = v1('cpu');
  const cpuacct = v1('cpuacct');
  return () => {
    const v2Quota = tightest(v2Dirs, v2Cores);
    if (v2Quota) {
      const usedMs = v2UsedMs(v2Quota.dir);
      return usedMs === undefined ? undefined : { cores: v2Quota.cores, usedMs, throttled: statCounter(v2Quota.dir, 'nr_throttled') ?? 0 };
    }
    const v1Quota = cpu && tightest(cpu.dirs, v1Cores);
    if (!v1Quota || !cpuacct) return undefined;
    // The same group in the cpuacct hierarchy: the same path below its mount point.
    const below = path.relative(path.join(fsRoot, cpu!.mount.mountPoint), v1Quota.dir);
    const usedMs = v1UsedMs(path.join(fsRoot, cpuacct.mount.mountPoint, below));
    return usedMs === undefined ? undefined : { cores: v1Quota.cores, usedMs, throttled: statCounter(v1Quota.dir, 'nr_throttled') ?? 0 };
  };
}

/** This process's /proc files; empty where there are none (not Linux). */
function procSources(): CgroupSources {
  return { mountinfo: readText('/proc/self/mountinfo') ?? '', cgroup: readText('/proc/self/cgroup') ?? '' };
}
