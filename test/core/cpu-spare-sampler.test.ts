/** How much of the machine's CPU time is spare (core/cpu-spare-sampler.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import type { CgroupQuotaLevel } from '../../src/core/cgroup-cpu-reader.ts';
import { cpuSpareSampler, parseCpuList, parseProcStat, readCpuTimes, type CpuTimes } from '../../src/core/cpu-spare-sampler.ts';

const noQuota = (): CgroupQuotaLevel[] => [];

describe('CPU spare time', () => {
  it("reads /proc/stat's first line: idle and iowait spare; nice, softirq and steal busy; guest time not counted twice", () => {
    //            user  nice system idle iowait irq softirq steal guest guest_nice
    const text = 'cpu  100  20   30     400  50     5   6       7     90    9\ncpu0 1 2 3 4 5 6 7 8 9 10\n';
    assert.deepEqual(parseProcStat(text), { spare: 4500, total: 6180 });
    assert.equal(parseProcStat('intr 1 2 3\n'), undefined);
    assert.equal(parseProcStat('cpu 1 2 x 4 5\n'), undefined);
  });

  it('reads only the lines of the CPUs the process may run on, when they are listed', () => {
    const text = ['cpu  100 0 0 900 0 0 0 0 0 0', 'cpu0 10 0 0 40 10 0 0 0 0 0', 'cpu1 20 0 0 80 0 0 0 0 0 0', 'cpu2 70 0 0 30 0 0 0 0 0 0', 'intr 5'].join('\n');
    assert.deepEqual(parseProcStat(text, new Set([0, 2])), { spare: 800, total: 1600 });
    assert.deepEqual(parseProcStat(text, new Set([1])), { spare: 800, total: 1000 });
    assert.deepEqual(parseProcStat(text, new Set([7])), { spare: 9000, total: 10_000 }, 'none of them listed: every CPU');
    assert.equal(parseProcStat('cpu  1 2 3 4 5\ncpu0 1 2 x 4 5\n', new Set([0])), undefined);
  });

  it('reads CPU lists as the kernel writes them', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11\n'), new Set([0, 1, 2, 3, 8, 10, 11]));
    assert.deepEqual(parseCpuList('5'), new Set([5]));
    assert.equal(parseCpuList('0-3,x'), undefined);
  });

  it("reads this machine's counters in milliseconds: all CPU time advances by the wall clock times the cores", async () => {
    const before = readCpuTimes();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = readCpuTimes();
    const expected = (performance.now() - started) * os.availableParallelism();
    const total = after.total - before.total;
    assert.ok(total > 0.6 * expected && total < 1.4 * expected, `${total} ms of CPU time in ${expected} ms of wall clock over all cores`);
    assert.ok(after.spare >= before.spare && after.spare - before.spare <= total);
  });

  it('gives the share spare over each window of at least 250 ms (however long), and 1 before the first', () => {
    let now = 0;
    let counters: CpuTimes = { spare: 0, total: 0 };
    const spareShare = cpuSpareSampler({ read: () => counters, readQuota: noQuota, now: () => now });
    counters = { spare: 100, total: 1000 };
    now = 100;
    assert.equal(spareShare(), 1, 'no window yet');
    now = 250;
    assert.equal(spareShare(), 0.1);
    counters = { spare: 400, total: 2000 };
    now = 400;
    assert.equal(spareShare(), 0.1, 'within 250 ms of the last reading: the same share');
    now = 500;
    assert.equal(spareShare(), 0.3);
    counters = { spare: 1100, total: 9000 }; // a long spell without readings, a tenth of it spare
    now = 5000;
    assert.equal(spareShare(), 0.1, 'the whole spell since the last reading');
    counters = { spare: 1100, total: 10_000 };
    now = 5250;
    assert.equal(spareShare(), 0, 'then the window after it');
    now = 5500;
    assert.equal(spareShare(), 1, 'counters that did not move: nothing to go by');
  });

  it("under CPU quotas, reads each quota's unused share, and at most the share of the window it was not held back at it, when smaller", () => {
    let now = 0;
    let counters: CpuTimes = { spare: 0, total: 0 };
    /** One more window of `ms` on the host's two CPUs, `share` of it spare. */
    const window = (ms: number, share: number) => {
      now += ms;
      counters = { spare: counters.spare + 2 * ms * share, total: counters.total + 2 * ms };
    };
    const app = (usedMs: number, throttled: number): CgroupQuotaLevel => ({ dir: '/app', cores: 0.5, periodMs: 100, usedMs, throttled });
    const pod = (usedMs: number): CgroupQuotaLevel => ({ dir: '/pod', cores: 1.5, periodMs: 100, usedMs, throttled: 0 });
    let quota = [app(0, 0)];
    const spareShare = cpuSpareSampler({ read: () => counters, readQuota: () => quota, now: () => now });
    // Each window: its length, the host's spare share, the quota levels read at its end, the
    // share expected, and why. The first: a second at half a core allows 500 ms, 375 were used.
    const windows: Array<[ms: number, hostShare: number, levels: CgroupQuotaLevel[], expected: number, why: string]> = [
      [1000, 0.9, [app(375, 0)], 0.25, 'a quarter of the quota unused'],
      [1000, 0.05, [app(500, 0)], 0.05, 'the host got busier: its share is the smaller one'],
      [1000, 0.9, [app(875, 10)], 0, 'a quarter unused on average, but held back all the window'],
      [1000, 0.9, [app(1100, 15)], 0.5, 'held back for half the window'],
      [10_000, 0.9, [app(2100, 16)], 0.8, 'held back once in a long quiet spell: a fifth used'],
      [1000, 0.9, [app(2620, 16)], 0, "a period's overrun, settled in the next"],
      [1000, 0.9, [app(2745, 16), pod(0)], 0.75, 'the pod quota, first seen, waits for the next window'],
      [1000, 0.9, [app(2870, 16), pod(1125)], 0.25, "a sidecar used most of the pod's quota: the tighter one now"],
      [1000, 0.9, [pod(1875)], 0.5, "the container's quota lifted: the pod's is compared with its own last reading"],
      [1000, 0.9, [], 0.9, 'no quota left: the CPUs alone'],
    ];
    for (const [ms, hostShare, levels, expected, why] of windows) {
      window(ms, hostShare);
      quota = levels;
      assert.equal(spareShare(), expected, why);
    }
  });

  it('on Linux, counts only the CPUs a process is pinned to (taskset, as a cpuset would)', { skip: process.platform !== 'linux' || os.availableParallelism() < 2 ? 'needs Linux and two CPUs' : false }, (t) => {
    const script = `
      import { readCpuTimes } from ${JSON.stringify(new URL('../../src/core/cpu-spare-sampler.ts', import.meta.url).href)};
      const before = readCpuTimes(); const started = performance.now();
      setTimeout(() => { const after = readCpuTimes(); console.log(JSON.stringify({ total: after.total - before.total, wall: performance.now() - started })); }, 500);`;
    // Pinned to the first CPU this process may run on (a cpuset need not include CPU 0).
    const cpu = /^Cpus_allowed_list:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]!;
    let out: string;
    try {
      out = execFileSync('taskset', ['-c', cpu, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('no taskset here (util-linux)');
      throw error;
    }
    const { total, wall } = JSON.parse(out) as { total: number; wall: number };
    // One CPU's time, not all of them (the tick is 10 ms, hence the margin).
    assert.ok(total > 0.6 * wall && total < 1.4 * wall, `${total} ms of CPU time in ${wall} ms on one CPU`);
  });
});
