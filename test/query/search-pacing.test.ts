/**
 * When search indexing yields to ingest (query/search-pacing.ts), and the CPU reading it goes by
 * (core/cpu-idle.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { cpuIdleSampler } from '../../src/core/cpu-idle.ts';
import { SearchPacing } from '../../src/query/search-pacing.ts';

/** A pacing over a CPU whose idle share and clock the test sets. */
function pacingWith(idle: number) {
  const machine = { idle, now: 0, readings: 0 };
  const pacing = new SearchPacing({
    idleShare: () => {
      machine.readings++;
      return machine.idle;
    },
    now: () => machine.now,
  });
  return { machine, pacing };
}

describe('search pacing', () => {
  it('rests three times as long as the chunk took while events wait and the CPUs have no time to spare, at most a second', () => {
    const { pacing } = pacingWith(0.05);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter(40), 120);
    assert.equal(pacing.restAfter(500), 1000);
  });

  it('does not rest without a backlog, whatever the CPUs, and reads them only when events wait', () => {
    const { machine, pacing } = pacingWith(0);
    assert.equal(pacing.restAfter(40), 0, 'no commit reported yet');
    pacing.noteBacklog(true);
    pacing.noteBacklog(false); // the next commit took everything queued
    assert.equal(pacing.restAfter(40), 0);
    assert.equal(machine.readings, 0);
  });

  it('does not rest while a tenth or more of the CPU time is idle: search keeps up under a load the machine carries', () => {
    const { machine, pacing } = pacingWith(0.1);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter(40), 0);
    machine.idle = 0.6;
    assert.equal(pacing.restAfter(40), 0);
    machine.idle = 0.09;
    assert.equal(pacing.restAfter(40), 120);
  });

  it('stops believing a backlog after a second without a commit saying so again', () => {
    const { machine, pacing } = pacingWith(0);
    pacing.noteBacklog(true);
    machine.now = 1000;
    assert.equal(pacing.restAfter(10), 30);
    machine.now = 1001;
    assert.equal(pacing.restAfter(10), 0);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter(10), 30);
  });

  it("reads this machine's idle CPU share: a core kept busy shows, and a reading sooner than its window repeats the last", () => {
    let now = 0;
    const idleShare = cpuIdleSampler(250, () => now);
    assert.equal(idleShare(), 1, 'no window yet: idle');
    const started = Date.now();
    while (Date.now() - started < 400); // this thread keeps one core busy
    now = 400;
    const share = idleShare();
    // The other cores may be busy too (other tests), which only lowers the share. Kernel ticks are
    // 10 ms, hence the margin.
    assert.ok(share >= 0 && share <= 1 - 1 / os.cpus().length + 0.05, `idle share ${share} with one of ${os.cpus().length} cores busy`);
    now = 500;
    assert.equal(idleShare(), share, 'within 250 ms of the last reading: the same share');
  });
});
