/** How much of the machine's CPU time is spare (core/cpu-spare-sampler.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { cpuSpareSampler, parseProcStat, readCpuTimes, type CpuTimes } from '../../src/core/cpu-spare-sampler.ts';

describe('CPU spare time', () => {
  it("reads /proc/stat's first line: idle and iowait spare; nice, softirq and steal busy; guest time not counted twice", () => {
    //            user  nice system idle iowait irq softirq steal guest guest_nice
    const text = 'cpu  100  20   30     400  50     5   6       7     90    9\ncpu0 1 2 3 4 5 6 7 8 9 10\n';
    assert.deepEqual(parseProcStat(text), { spare: 4500, total: 6180 });
    assert.equal(parseProcStat('intr 1 2 3\n'), undefined);
    assert.equal(parseProcStat('cpu 1 2 x 4 5\n'), undefined);
  });

  it("reads this machine's counters in milliseconds: all CPU time advances by the wall clock times the cores", async () => {
    const before = readCpuTimes();
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = readCpuTimes();
    const expected = (performance.now() - started) * os.cpus().length;
    const total = after.total - before.total;
    assert.ok(total > 0.6 * expected && total < 1.4 * expected, `${total} ms of CPU time in ${expected} ms of wall clock over all cores`);
    assert.ok(after.spare >= before.spare && after.spare - before.spare <= total);
  });

  it('gives the share spare over each window of at least 250 ms (however long), and 1 before the first', () => {
    let now = 0;
    let counters: CpuTimes = { spare: 0, total: 0 };
    const spareShare = cpuSpareSampler({ read: () => counters, now: () => now });
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
});
