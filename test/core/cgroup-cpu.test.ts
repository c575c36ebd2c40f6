/** A control group's CPU quota and its use (core/cgroup-cpu.ts), from copies of /proc and /sys, then from a real group. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupCpuReader, parseCgroupMounts } from '../../src/core/cgroup-cpu.ts';

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

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
/** This machine's layout: cgroup v1 with cpu and cpuacct mounted apart, an unused v2 mount beside them. */
const V1_APART = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');

describe('cgroup CPU quota', () => {
  it('reads the mounts of v1 controllers and of v2 from mountinfo, optional fields and all', () => {
    const mounts = parseCgroupMounts(V2_MOUNT + V1_APART);
    assert.deepEqual(
      mounts.map((m) => [m.version, [...m.controllers].join(','), m.root, m.mountPoint]),
      [
        [2, '', '/', '/sys/fs/cgroup'],
        [1, 'rw,cpu', '/', '/sys/fs/cgroup/cpu'],
        [1, 'rw,cpuacct', '/', '/sys/fs/cgroup/cpuacct'],
        [2, '', '/', '/sys/fs/cgroup/unified'],
      ],
    );
  });

  it('v2: the tightest quota of the group and its ancestors, with the usage of the group that holds it', (t) => {
    const pod = 'sys/fs/cgroup/kubepods/pod1';
    const fsRoot = fakeRoot(t, {
      [`${pod}/cpu.max`]: '200000 100000\n',
      [`${pod}/cpu.stat`]: 'usage_usec 9000000\nuser_usec 1\nnr_periods 90\nnr_throttled 4\n',
      [`${pod}/app/cpu.max`]: '50000 100000\n',
      [`${pod}/app/cpu.stat`]: 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 40\nnr_throttled 12\nthrottled_usec 5\n',
      'sys/fs/cgroup/cpu.stat': 'usage_usec 1\n', // the root group has no cpu.max
    });
    const read = cgroupCpuReader({ mountinfo: V2_MOUNT, cgroup: '0::/kubepods/pod1/app\n', fsRoot });
    assert.deepEqual(read(), { cores: 0.5, usedMs: 1234.567, throttled: 12 });
    // Lifted on the container, the pod's quota binds: read anew each time.
    fs.writeFileSync(path.join(fsRoot, pod, 'app/cpu.max'), 'max 100000\n');
    assert.deepEqual(read(), { cores: 2, usedMs: 9000, throttled: 4 });
    fs.writeFileSync(path.join(fsRoot, pod, 'cpu.max'), 'max 100000\n');
    assert.equal(read(), undefined, 'no quota anywhere');
  });

  it('v2 in a container: its own group is the root of the mount', (t) => {
    const fsRoot = fakeRoot(t, { 'sys/fs/cgroup/cpu.max': '150000 100000\n', 'sys/fs/cgroup/cpu.stat': 'usage_usec 2000\n' });
    assert.deepEqual(cgroupCpuReader({ mountinfo: V2_MOUNT, cgroup: '0::/\n', fsRoot })(), { cores: 1.5, usedMs: 2, throttled: 0 });
    // Without a cgroup namespace the group keeps its host path, and the mount's root says so.
    const mountinfo = V2_MOUNT.replace(' / /sys/fs/cgroup ', ' /docker/abc /sys/fs/cgroup ');
    assert.deepEqual(cgroupCpuReader({ mountinfo, cgroup: '0::/docker/abc\n', fsRoot })(), { cores: 1.5, usedMs: 2, throttled: 0 });
    assert.equal(cgroupCpuReader({ mountinfo, cgroup: '0::/elsewhere\n', fsRoot })(), undefined, 'a group outside the mounted part');
  });

  it('v1: cpu.cfs_quota_us over cpu.cfs_period_us, usage from cpuacct at the same place, mounted apart or together', (t) => {
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
    const cgroup = '2:cpuacct:/a/b\n1:cpu:/a/b\n0::/\n';
    assert.deepEqual(cgroupCpuReader({ mountinfo: V1_APART, cgroup, fsRoot })(), { cores: 0.25, usedMs: 5, throttled: 6 }, 'the unified mount beside them has no cpu.max');
    const together = '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n';
    assert.deepEqual(cgroupCpuReader({ mountinfo: together, cgroup: '3:cpu,cpuacct:/a\n', fsRoot })(), { cores: 3, usedMs: 8, throttled: 0 });
    assert.equal(cgroupCpuReader({ mountinfo: V1_APART, cgroup: '1:cpu:/a/b\n', fsRoot })(), undefined, 'no cpuacct group: no usage to go by');
  });

  it('nothing to read (not Linux, or no cgroup mounted): no quota', () => {
    assert.equal(cgroupCpuReader({ mountinfo: '', cgroup: '' })(), undefined);
  });

  // A real group: writable only by root, on a machine whose cgroup v1 cpu and cpuacct
  // controllers are mounted apart (as here) or together.
  const v1 = ['cpu', 'cpuacct'].map((c) => ['/sys/fs/cgroup/cpu,cpuacct', `/sys/fs/cgroup/${c}`].find((d) => fs.existsSync(path.join(d, 'cgroup.procs'))));
  const writable = (() => {
    if (process.getuid?.() !== 0 || !v1[0] || !v1[1]) return false;
    const probe = path.join(v1[0], `vt-probe-${process.pid}`);
    try {
      fs.mkdirSync(probe);
      fs.rmdirSync(probe);
      return true;
    } catch {
      return false; // a container's read-only cgroupfs, say
    }
  })();

  it('a real process held to a quarter of a core reads its quota and nothing spare while busy, whatever the host has', { skip: writable ? false : 'needs root and writable cgroup v1 cpu and cpuacct controllers', timeout: 60_000 }, async (t) => {
    const dirs = [...new Set(v1.map((d) => path.join(d!, `vt-test-${process.pid}`)))];
    for (const dir of dirs) fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dirs[0]!, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(path.join(dirs[0]!, 'cpu.cfs_quota_us'), '25000');
    const module = (file: string) => JSON.stringify(new URL(`../../src/core/${file}`, import.meta.url).href);
    // Says it is ready, waits for a line on stdin (sent once it is in the group), then spins for
    // 1.5 s, reading.
    const script = `
      import { cgroupCpuReader } from ${module('cgroup-cpu.ts')};
      import { cpuSpareSampler } from ${module('cpu-spare-sampler.ts')};
      process.stdin.once('data', () => {
        const quota = cgroupCpuReader()();
        const spareShare = cpuSpareSampler();
        const shares = [];
        const end = performance.now() + 1500;
        let last = performance.now();
        while (performance.now() < end) if (performance.now() - last >= 300) { last = performance.now(); shares.push(spareShare()); }
        console.log(JSON.stringify({ quota, shares }));
        process.exit(0);
      });
      console.log('ready');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.startsWith('ready\n')) resolve();
      }),
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // A group can be removed only once no process is left in it.
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      for (const dir of dirs) fs.rmdirSync(dir);
    });
    await ready;
    for (const dir of dirs) fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(child.pid));
    child.stdin.write('go\n');
    await exited;
    const { quota, shares } = JSON.parse(out.slice('ready\n'.length)) as { quota: { cores: number; usedMs: number; throttled: number }; shares: number[] };
    assert.equal(quota.cores, 0.25);
    assert.ok(quota.usedMs >= 0);
    assert.ok(shares.length >= 3);
    // The first window spans the start of the spin; the later ones the spin alone, throttled.
    for (const share of shares.slice(1)) assert.ok(share < 0.1, `spare share ${share} while spinning at the quota`);
  });
});
