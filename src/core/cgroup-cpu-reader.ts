/**
 * The CPU quotas of this process's control group and of its ancestors, each with how much of
 * it the group has used: what a container has of its own, where /proc/stat shows only the
 * host's. A node held to half a core on an idle host has no CPU to spare, and the host's
 * counters would say it has plenty (core/cpu-spare-sampler.ts reads both).
 *
 * Every level that holds a quota counts, not only the smallest: a Kubernetes pod's quota is
 * shared by its containers, so a container under its own quota may still find the pod's used up
 * by a sidecar. For each level:
 *  - the quota: cgroup v2 `cpu.max` ("max" for none, or "<quota> <period>" in µs), or cgroup v1
 *    `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`;
 *  - the CPU time used by the group, everything in it included: v2 `cpu.stat` usage_usec, v1
 *    `cpuacct.usage` (ns) of the same group in the cpuacct hierarchy;
 *  - the periods in which it reached its quota and was held back: `cpu.stat` nr_throttled (v1
 *    and v2).
 *
 * Where the groups are: /proc/self/cgroup names the process's group in each hierarchy, and
 * /proc/self/mountinfo where each hierarchy is mounted and which part of it (a container usually
 * sees its own group as the root of the mount).
 *
 * BUG: in a container (any runtime, cgroup v1 or v2) the groups above the container's own are
 * out of sight: its cgroupfs shows its own group as the root, so a Kubernetes pod's quota is
 * seen only by a node running outside a container. And files that cannot be read (a masked
 * /sys, a sandbox without cgroupfs) leave the host's CPU reading alone, without a word.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One level of the process's control group that holds a CPU quota, as read now. */
export interface CgroupQuotaLevel {
  /** Its directory: two readings are compared level by level through it. */
  dir: string;
  /** Cores' worth of CPU time the quota allows per unit of wall-clock time (quota / period). */
  cores: number;
  /** The quota's period, in ms. */
  periodMs: number;
  /** CPU time the group and everything in it have used, in ms. */
  usedMs: number;
  /** Periods in which the group was held back at its quota (a count since the group began). */
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

export interface CgroupMount {
  version: 1 | 2;
  /** v1: the controllers mounted there (cpu, cpuacct, ...); v2: none listed. */
  controllers: Set<string>;
  /** The part of the hierarchy mounted (mountinfo's root field). */
  root: string;
  mountPoint: string;
}

/** mountinfo writes space, tab, newline and backslash in paths as octal escapes (\040 ...). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The cgroup mounts of a /proc/self/mountinfo text. */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // "<id> <parent> <major:minor> <root> <mount point> <options> [optional fields...] - <type> <source> <super options>"
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [, , , root, mountPoint] = before.split(' ').map(unescapeMountField);
    const [fsType, , superOptions = ''] = after.split(' ');
    if (!root || !mountPoint) continue;
    if (fsType === 'cgroup2') mounts.push({ version: 2, controllers: new Set(), root, mountPoint });
    // A v1 mount's super options are its controllers, with rw/ro and any name= among them.
    else if (fsType === 'cgroup') mounts.push({ version: 1, controllers: new Set(superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('='))), root, mountPoint });
  }
  return mounts;
}

/** The lines of /proc/self/cgroup: `0::<path>` for v2, `<id>:<controllers>:<path>` for v1. */
function parseProcCgroup(text: string): Array<{ version: 1 | 2; controllers: Set<string>; path: string }> {
  const groups = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, groupPath] = match;
    groups.push({ version: id === '0' && controllers === '' ? (2 as const) : (1 as const), controllers: new Set(controllers!.split(',')), path: groupPath! });
  }
  return groups;
}

/** The group path of the mount's root, without its trailing slash ('' for the hierarchy's root). */
function rootOf(mount: CgroupMount): string {
  return mount.root === '/' ? '' : mount.root;
}

/** Whether `groupPath` lies in the part of its hierarchy that `mount` shows. */
function shows(mount: CgroupMount, groupPath: string): boolean {
  const root = rootOf(mount);
  return root === '' || groupPath === root || groupPath.startsWith(`${root}/`);
}

/**
 * Of the mounts of one hierarchy, the one that shows `groupPath` with the longest root: a
 * container may see its host's whole hierarchy mounted beside its own part of it.
 */
function mountFor(mounts: readonly CgroupMount[], groupPath: string): CgroupMount | undefined {
  let best: CgroupMount | undefined;
  for (const mount of mounts) if (shows(mount, groupPath) && (!best || mount.root.length > best.root.length)) best = mount;
  return best;
}

/** The directory of a group in `mount` (which shows it). */
function dirOf(mount: CgroupMount, groupPath: string, fsRoot: string): string {
  // Without a trailing slash, so that a level is named alike however it was reached.
  return path.join(fsRoot, mount.mountPoint, groupPath.slice(rootOf(mount).length)).replace(/(.)\/$/, '$1');
}

/** The group and each ancestor the mount shows, as group paths, the group first. */
function levels(mount: CgroupMount, groupPath: string): string[] {
  const root = rootOf(mount);
  const paths = [groupPath];
  for (let p = groupPath; p.length > root.length && p !== '/'; ) paths.push((p = path.posix.dirname(p)));
  return paths;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/** The counters of a `cpu.stat` file ("<name> <value>" lines). */
function cpuStat(dir: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const line of (readText(path.join(dir, 'cpu.stat')) ?? '').split('\n')) {
    const [name, value] = line.split(' ');
    if (name && value && /^\d+$/.test(value)) counters.set(name, Number(value));
  }
  return counters;
}

/** v2: a level with a quota in `cpu.max`, or undefined. */
function v2Level(dir: string): CgroupQuotaLevel | undefined {
  const [quota, period] = (readText(path.join(dir, 'cpu.max')) ?? '').trim().split(/\s+/).map(Number);
  if (!(quota! > 0 && period! > 0)) return undefined;
  const stat = cpuStat(dir);
  const usec = stat.get('usage_usec');
  return usec === undefined ? undefined : { dir, cores: quota! / period!, periodMs: period! / 1000, usedMs: usec / 1000, throttled: stat.get('nr_throttled') ?? 0 };
}

/** v1: a level with a quota in `cpu.cfs_quota_us`, its use read from `cpuacctDir`, or undefined. */
function v1Level(dir: string, cpuacctDir: string | undefined): CgroupQuotaLevel | undefined {
  const quota = Number(readText(path.join(dir, 'cpu.cfs_quota_us')));
  const period = Number(readText(path.join(dir, 'cpu.cfs_period_us')));
  if (!(quota > 0 && period > 0) || !cpuacctDir) return undefined;
  const usage = readText(path.join(cpuacctDir, 'cpuacct.usage'));
  if (usage === undefined || !/^\d+\s*$/.test(usage)) return undefined;
  const stat = cpuStat(dir);
  return { dir, cores: quota / period, periodMs: period / 1000, usedMs: Number(usage) / 1e6, throttled: stat.get('nr_throttled') ?? 0 };
}

/**
 * A reader of the quota levels of this process's group (the groups are found once from
 * `sources`; the quotas are read anew each time, so a resized container is followed). An empty
 * list: no quota applies, or none can be read.
 */
export function cgroupCpuReader(sources: CgroupSources = procSources()): () => CgroupQuotaLevel[] {
  const fsRoot = sources.fsRoot ?? '';
  const mounts = parseCgroupMounts(sources.mountinfo);
  // A path that climbs ("/../..": a group outside this cgroup namespace) would lead out of the mount.
  const groups = parseProcCgroup(sources.cgroup).filter((g) => !g.path.split('/').includes('..'));
  const v2Group = groups.find((g) => g.version === 2);
  const v2Mount = v2Group && mountFor(mounts.filter((m) => m.version === 2), v2Group.path);
  const v2Dirs = v2Mount ? levels(v2Mount, v2Group!.path).map((p) => dirOf(v2Mount, p, fsRoot)) : [];
  const v1 = (controller: string) => {
    const group = groups.find((g) => g.version === 1 && g.controllers.has(controller));
    const mount = group && mountFor(mounts.filter((m) => m.version === 1 && m.controllers.has(controller)), group.path);
    return group && mount ? { group, mount } : undefined;
  };
  const cpu = v1('cpu');
  const cpuacct = v1('cpuacct');
  // v1: each level of the cpu group with the same group in the cpuacct hierarchy, where it shows.
  const v1Dirs = cpu
    ? levels(cpu.mount, cpu.group.path).map((p) => ({ dir: dirOf(cpu.mount, p, fsRoot), cpuacctDir: cpuacct && shows(cpuacct.mount, p) ? dirOf(cpuacct.mount, p, fsRoot) : undefined }))
    : [];
  return () => {
    const v2Levels = v2Dirs.map(v2Level).filter((level) => level !== undefined);
    if (v2Levels.length > 0) return v2Levels;
    return v1Dirs.map(({ dir, cpuacctDir }) => v1Level(dir, cpuacctDir)).filter((level) => level !== undefined);
  };
}

/** This process's /proc files; empty where there are none (not Linux). */
function procSources(): CgroupSources {
  return { mountinfo: readText('/proc/self/mountinfo') ?? '', cgroup: readText('/proc/self/cgroup') ?? '' };
}
