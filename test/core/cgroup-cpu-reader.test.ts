/** The CPU quotas of a control group and its ancestors (core/cgroup-cpu-reader.ts), from copies of /proc and /sys, then from a real group. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupCpuReader, parseCgroupMounts, type CgroupQuotaLevel } from '../../src/core/cgroup-cpu-reader.ts';

/** A copy of the cgroup files under a temporary root: `files` maps paths below it to contents. */
function fakeRoot(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-cgroup-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** Each level read, below `fsRoot`, as [directory, cores, period ms, used ms, throttled]. */
function summary(levels: CgroupQuotaLevel[], fsRoot: string): Array<[string, number, number, number, number]> {
  return levels.map((l) => [path.relative(fsRoot, l.dir), l.cores, l.periodMs, l.usedMs, l.throttled]);
}

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
/** This machine's layout: cgroup v1 with cpu and cpuacct mounted apart, an unused v2 mount beside them. */
const V1_APART = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

describe('cgroup CPU quotas', () => {
  it('reads the mounts of v1 controllers and of v2 from mountinfo: optional fields, escaped paths, options that are not controllers', () => {
    const mounts = parseCgroupMounts(V2_MOUNT + V1_APART + '\n50 31 0:40 /machine.slice/a\\040b\\134x2d /sys/fs/cgroup/my\\040cpu rw shared:9 master:2 - cgroup cgroup ro,cpu,cpuacct\n');
    assert.deepEqual(
      mounts.map((m) => [m.version, [...m.controllers].join(','), m.root, m.mountPoint]),
      [
        [2, '', '/', '/sys/fs/cgroup'],
        [1, 'cpu', '/', '/sys/fs/cgroup/cpu'],
        [1, 'cpuacct', '/', '/sys/fs/cgroup/cpuacct'],
        [1, '', '/', '/sys/fs/cgroup/systemd'],
        [2, '', '/', '/sys/fs/cgroup/unified'],
        [1, 'cpu,cpuacct', '/machine.slice/a b\\x2d', '/sys/fs/cgroup/my cpu'],
      ],
    );
  });

  it('v2: every level with a quota, the group first, each with its own use and throttling; read anew each time', (t) => {
    const pod = 'sys/fs/cgroup/kubepods/pod1';
    const fsRoot = fakeRoot(t, {
      [`${pod}/cpu.max`]: '200000 100000\n',
      [`${pod}/cpu.stat`]: 'usage_usec 9000000\nuser_usec 1\nnr_periods 90\nnr_throttled 4\n',
      [`${pod}/app/cpu.max`]: '50000 100000\n',
      [`${pod}/app/cpu.stat`]: 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 40\nnr_throttled 12\nthrottled_usec 5\n',
      'sys/fs/cgroup/kubepods/cpu.max': 'max 100000\n',
      'sys/fs/cgroup/kubepods/cpu.stat': 'usage_usec 99\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 1\n', // the root group has no cpu.max
    });
    const read = cgroupCpuReader({ mountinfo: V2_MOUNT, cgroup: '0::/kubepods/pod1/app\n', fsRoot });
    assert.deepEqual(summary(read(), fsRoot), [
      [`${pod}/app`, 0.5, 100, 1234.567, 12],
      [pod, 2, 100, 9000, 4],
    ]);
    fs.writeFileSync(path.join(fsRoot, pod, 'app/cpu.max'), 'max 100000\n'); // lifted on the container
    assert.deepEqual(summary(read(), fsRoot), [[pod, 2, 100, 9000, 4]]);
    fs.writeFileSync(path.join(fsRoot, pod, 'cpu.max'), 'max 100000\n');
    assert.deepEqual(read(), [], 'no quota anywhere');
  });

  it('v2 in a container: its own group is the root of the mount, or the mount that shows it with the longest root', (t) => {
    const fsRoot = fakeRoot(t, {
      'sys/fs/cgroup/cpu.max': '150000 100000\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 2000\n',
      'host/cgroup/docker/abc/cpu.max': '150000 100000\n',
      'host/cgroup/docker/abc/cpu.stat': 'usage_usec 3000\n',
    });
    const own = [['sys/fs/cgroup', 1.5, 100, 2, 0]];
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo: V2_MOUNT, cgroup: '0::/\n', fsRoot })(), fsRoot), own);
    // Without a cgroup namespace the group keeps its host path, and the mount's root says so.
    const mountinfo = V2_MOUNT.replace(' / /sys/fs/cgroup ', ' /docker/abc /sys/fs/cgroup ');
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo, cgroup: '0::/docker/abc\n', fsRoot })(), fsRoot), own);
    assert.deepEqual(cgroupCpuReader({ mountinfo, cgroup: '0::/elsewhere\n', fsRoot })(), [], 'a group outside the mounted part');
    // The host's hierarchy mounted beside it (a hostPath volume): its own mount still wins...
    const beside = '60 23 0:26 / /host/cgroup rw - cgroup2 cgroup2 rw\n';
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo: beside + mountinfo, cgroup: '0::/docker/abc\n', fsRoot })(), fsRoot), own);
    // A group outside the cgroup namespace ("/../..") is not followed out of the mount.
    assert.deepEqual(cgroupCpuReader({ mountinfo: V2_MOUNT, cgroup: '0::/../../host/cgroup/docker/abc\n', fsRoot })(), []);
  });

  it('v1: cpu.cfs_quota_us over cpu.cfs_period_us, use from the same group in the cpuacct hierarchy, mounted apart or together', (t) => {
    const fsRoot = fakeRoot(t, {
      'sys/fs/cgroup/cpu/a/cpu.cfs_quota_us': '25000\n',
      'sys/fs/cgroup/cpu/a/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu/a/cpu.stat': 'nr_periods 10\nnr_throttled 6\nthrottled_time 123\n',
      'sys/fs/cgroup/cpu/a/b/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu/a/b/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpuacct/a/cpuacct.usage': '5000000\n',
      'sys/fs/cgroup/cpuacct/a/b/cpuacct.usage': '7\n',
      'sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us': '300000\n',
      'sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/a/cpuacct.usage': '8000000\n',
    });
    const cgroup = '3:name=systemd:/\n2:cpuacct:/a/b\n1:cpu:/a/b\n0::/\n';
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo: V1_APART, cgroup, fsRoot })(), fsRoot), [['sys/fs/cgroup/cpu/a', 0.25, 100, 5, 6]], 'the unified mount beside them has no cpu.max');
    const together = '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n';
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo: together, cgroup: '3:cpu,cpuacct:/a\n', fsRoot })(), fsRoot), [['sys/fs/cgroup/cpu,cpuacct/a', 3, 100, 8, 0]]);
    assert.deepEqual(cgroupCpuReader({ mountinfo: V1_APART, cgroup: '1:cpu:/a/b\n', fsRoot })(), [], 'no cpuacct group: no use to go by');
  });

  it("v1 in a container: cpu and cpuacct mounted apart, each showing the container's own group as its root", (t) => {
    const fsRoot = fakeRoot(t, {
      'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000\n',
      'sys/fs/cgroup/cpu/cpu.cfs_period_us': '50000\n',
      'sys/fs/cgroup/cpu/cpu.stat': 'nr_periods 3\nnr_throttled 1\nthrottled_time 9\n',
      'sys/fs/cgroup/cpuacct/cpuacct.usage': '2500000\n',
      'sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage': '1\n', // where a root of "/" would lead
    });
    const mountinfo = V1_APART.replaceAll(' / /sys/fs/cgroup/cpu', ' /docker/abc /sys/fs/cgroup/cpu');
    const cgroup = '2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n';
    assert.deepEqual(summary(cgroupCpuReader({ mountinfo, cgroup, fsRoot })(), fsRoot), [['sys/fs/cgroup/cpu', 1, 50, 2.5, 1]]);
  });

  it('nothing to read (not Linux, or no cgroup mounted): no quota', () => {
    assert.deepEqual(cgroupCpuReader({ mountinfo: '', cgroup: '' })(), []);
  });

  // A real group, where this machine lets us make one: root, and cgroup v1's cpu and cpuacct
  // controllers mounted apart (as on the machine this was written on) or together. cgroup v2
  // is covered by the copies above only: there its cpu controller is bound to v1.
  it('a real process held to a quarter of a core, spinning, reads that quota, is held back, and reads none of it spare', { timeout: 60_000 }, async (t) => {
    const v1 = ['cpu', 'cpuacct'].map((c) => ['/sys/fs/cgroup/cpu,cpuacct', `/sys/fs/cgroup/${c}`].find((d) => fs.existsSync(path.join(d, 'cgroup.procs'))));
    if (process.getuid?.() !== 0 || !v1[0] || !v1[1]) return t.skip('needs root and cgroup v1 cpu and cpuacct controllers');
    const dirs = [...new Set(v1.map((d) => path.join(d!, `vt-test-${process.pid}`)))];
    let child: ReturnType<typeof spawn> | undefined;
    let exited: Promise<unknown> = Promise.resolve();
    // A group can be removed only once no process is left in it.
    t.after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      for (const dir of dirs) {
        try {
          fs.rmdirSync(dir);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    });
    try {
      for (const dir of dirs) fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dirs[0]!, 'cpu.cfs_period_us'), '100000');
      fs.writeFileSync(path.join(dirs[0]!, 'cpu.cfs_quota_us'), '25000');
    } catch (error) {
      return t.skip(`cannot make a cgroup with a quota here (${(error as Error).message})`);
    }
    const module = (file: string) => JSON.stringify(new URL(`../../src/core/${file}`, import.meta.url).href);
    // Says it is ready, waits for a line on stdin (sent once it is in the group), then spins for
    // 1.5 s, reading the quota's share apart (counters that never move read all spare) and the
    // host's apart.
    const script = `
      import { cgroupCpuReader } from ${module('cgroup-cpu-reader.ts')};
      import { cpuSpareSampler } from ${module('cpu-spare-sampler.ts')};
      process.stdin.once('data', () => {
        const readQuota = cgroupCpuReader();
        const before = readQuota();
        const quotaShare = cpuSpareSampler({ read: () => ({ spare: 0, total: 0 }) });
        const hostShare = cpuSpareSampler({ readQuota: () => [] });
        const shares = [];
        const end = performance.now() + 1500;
        let last = performance.now();
        while (performance.now() < end) if (performance.now() - last >= 300) { last = performance.now(); shares.push([quotaShare(), hostShare()]); }
        console.log(JSON.stringify({ before, after: readQuota(), shares }));
        process.exit(0);
      });
      console.log('ready');`;
    const spawned = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    child = spawned;
    exited = new Promise((resolve) => spawned.on('exit', resolve));
    let out = '';
    const ready = new Promise<void>((resolve) =>
      spawned.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    await Promise.race([ready, exited.then(() => assert.fail(`the child exited before it was ready: ${out}`))]);
    try {
      for (const dir of dirs) fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(spawned.pid));
    } catch (error) {
      return t.skip(`cannot move a process into a cgroup here (${(error as Error).message})`);
    }
    spawned.stdin!.write('go\n');
    await exited;
    const { before, after, shares } = JSON.parse(out.slice('ready\n'.length)) as { before: CgroupQuotaLevel[]; after: CgroupQuotaLevel[]; shares: Array<[number, number]> };
    const ours = (levels: CgroupQuotaLevel[]) => levels.find((l) => path.basename(l.dir) === `vt-test-${process.pid}`)!;
    assert.equal(ours(before).cores, 0.25);
    assert.ok(ours(after).throttled > ours(before).throttled, 'held back at its quota');
    assert.ok(ours(after).usedMs > ours(before).usedMs);
    assert.ok(shares.length >= 3);
    // The first window spans the start of the spin; the later ones the spin alone.
    for (const [quota, host] of shares.slice(1)) assert.ok(quota < 0.1, `the quota's share spare read ${quota} while spinning at it (the host's: ${host})`);
  });
});
