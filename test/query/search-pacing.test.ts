/** When search indexing yields to ingest (query/search-pacing.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_BACKLOG_FRESH_MS, DEFAULT_MAX_YIELD_MS, SEARCH_YIELD_CHOICES, SearchPacing, searchPacingFor } from '../../src/query/search-pacing.ts';
import type { Store } from '../../src/store/store.ts';

/** A store that is only its capabilities: whether its search writes run in a database server. */
const store = (searchWritesInServer: boolean) => ({ capabilities: { engine: 'x', concurrentWriters: false, searchWritesInServer } }) as unknown as Store;

/** A pacing over CPUs whose spare share, and a clock whose time, the test sets. */
function pacingWith(spare: number) {
  const machine = { spare, now: 0, readings: 0 };
  const pacing = new SearchPacing({
    spareShare: () => {
      machine.readings++;
      return machine.spare;
    },
    clock: { now: () => machine.now },
  });
  return { machine, pacing };
}

describe('search pacing', () => {
  it('rests three times as long as the chunk took while events wait and the CPUs have no time to spare, at most a second', () => {
    const { pacing } = pacingWith(0.05);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 40), 120);
    assert.equal(pacing.restAfter('a', 500), 1000);
  });

  it('does not rest without a backlog, whatever the CPUs, and reads them only when events wait', () => {
    const { machine, pacing } = pacingWith(0);
    assert.equal(pacing.restAfter('a', 40), 0, 'no commit reported yet');
    pacing.noteBacklog(true);
    pacing.noteBacklog(false); // the next commit took everything queued
    assert.equal(pacing.restAfter('a', 40), 0);
    assert.equal(machine.readings, 0);
  });

  it('does not rest while a tenth or more of the CPU time is spare: search keeps up under a load the machine carries', () => {
    const { machine, pacing } = pacingWith(0.1);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 40), 0);
    machine.spare = 0.6;
    assert.equal(pacing.restAfter('a', 40), 0);
    machine.spare = 0.09;
    assert.equal(pacing.restAfter('a', 40), 120);
  });

  it('stops believing a backlog once no commit has said so again for a while', () => {
    const { machine, pacing } = pacingWith(0);
    pacing.noteBacklog(true);
    machine.now = DEFAULT_BACKLOG_FRESH_MS;
    assert.equal(pacing.restAfter('a', 10), 30);
    machine.now = DEFAULT_BACKLOG_FRESH_MS + 1;
    assert.equal(pacing.restAfter('a', 10), 0);
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 10), 30);
  });

  it('rests a log for a minute at most before its index next catches up, so a sustained overload costs search no more than before', () => {
    const { machine, pacing } = pacingWith(0);
    machine.now = 1000;
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 10), 30, 'the first rest starts the minute');
    for (machine.now = 1000; machine.now <= 1000 + DEFAULT_MAX_YIELD_MS; machine.now += 1000) {
      pacing.noteBacklog(true);
      assert.equal(pacing.restAfter('a', 10), 30, `rests ${machine.now - 1000} ms in`);
    }
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 10), 0, 'past the minute: full pace');
    machine.now += 30_000;
    pacing.noteBacklog(true);
    assert.equal(pacing.restAfter('a', 10), 0, 'still, until it has caught up');
    assert.equal(pacing.restAfter('b', 10), 30, 'another log has a minute of its own');
    pacing.caughtUp('a');
    assert.equal(pacing.restAfter('a', 10), 30, 'caught up: it may yield again');
  });

  it('is on by default where the search writes run in a database server (PostgreSQL), off on SQLite, and either way when configured', () => {
    assert.ok(searchPacingFor(store(true)) instanceof SearchPacing);
    assert.equal(searchPacingFor(store(false)), undefined);
    assert.equal(searchPacingFor(store(true), { enabled: false }), undefined);
    const assumed = searchPacingFor(store(false), { enabled: true, assumeSpareShare: 0 })!;
    assumed.noteBacklog(true);
    assert.equal(assumed.restAfter('a', 10), 30, 'an assumed share of 0: saturated');
  });

  it('--search-yield: auto, on and off as above; backlog yields on the backlog alone, whatever this machine has spare, and like auto not on SQLite', () => {
    assert.ok(searchPacingFor(store(true), SEARCH_YIELD_CHOICES.auto) instanceof SearchPacing);
    assert.equal(searchPacingFor(store(false), SEARCH_YIELD_CHOICES.auto), undefined);
    assert.ok(searchPacingFor(store(false), SEARCH_YIELD_CHOICES.on) instanceof SearchPacing);
    assert.equal(searchPacingFor(store(true), SEARCH_YIELD_CHOICES.off), undefined);
    // This machine's CPUs are not read at all: an idle machine (PostgreSQL elsewhere) yields too.
    // (A sampler of them would read all spare this soon after it was made.)
    const backlog = searchPacingFor(store(true), SEARCH_YIELD_CHOICES.backlog)!;
    assert.equal(backlog.restAfter('a', 10), 0, 'no backlog: full pace');
    backlog.noteBacklog(true);
    assert.equal(backlog.restAfter('a', 10), 30);
    backlog.noteBacklog(false);
    assert.equal(backlog.restAfter('a', 10), 0, 'the backlog gone: full pace again');
    assert.equal(searchPacingFor(store(false), SEARCH_YIELD_CHOICES.backlog), undefined, 'on SQLite resting would only add lag');
  });
});
