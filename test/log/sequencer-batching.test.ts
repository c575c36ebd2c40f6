/**
 * What a batch holds: requests for a log that arrive while its batch waits for the log's lock
 * join that batch (one commit for all of them), in order, up to the batch limit; requests for
 * other logs, and those past the limit, wait for the next batch.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initStore, testProject } from '../helpers/stores.ts';
import { Sequencer } from '../../src/log/sequencer.ts';
import { isDropped, prepareEvents, type PreparedEvent } from '../../src/log/prepare.ts';
import type { LogAppend, Store } from '../../src/store/store.ts';

function events(projectId: string, ids: string[]): PreparedEvent[] {
  const outcome = prepareEvents(projectId, ids.map((eventId) => ({ eventId })), new Date().toISOString(), { maxEvents: 100, maxEventBytes: 1 << 20 });
  assert.ok(outcome.ok);
  return outcome.items.filter((item): item is PreparedEvent => !isDropped(item));
}

describe('sequencer batches', () => {
  it('requests queued while a batch waits for its lock join it; other logs and the overflow wait', async (t) => {
    const handle = await initStore('sqlite');
    t.after(() => handle.destroy());
    const [a, b] = [testProject(), testProject()];
    await handle.store.createProject(a);
    await handle.store.createProject(b);
    // The real store; its lock is held back until the test lets it go, and each append is recorded.
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let lockAsked!: () => void;
    const asked = new Promise<void>((resolve) => (lockAsked = resolve));
    const appends: LogAppend[][] = [];
    const store = new Proxy(handle.store, {
      get: (target, property) => {
        if (property === 'lockLogs')
          return async (projects: string[]) => {
            lockAsked();
            await gate;
            const lock = await target.lockLogs(projects);
            return {
              ...lock,
              append: async (batch: LogAppend[]) => {
                appends.push(batch);
                return lock.append(batch);
              },
            };
          };
        return Reflect.get(target, property, target);
      },
    }) as Store;
    const sequencer = new Sequencer(store, { batchMaxEvents: 6 });

    const first = sequencer.submit(a.id, events(a.id, ['a0', 'a1']));
    await asked; // the first batch (a0, a1) now waits for log a's lock
    const queued = [
      sequencer.submit(b.id, events(b.id, ['b0'])),
      sequencer.submit(a.id, events(a.id, ['a2', 'a3'])),
      sequencer.submit(a.id, events(a.id, ['a1', 'a4'])), // a1 again: it gets a1's receipt
      sequencer.submit(a.id, events(a.id, ['a5', 'a6'])), // past the limit of 6
    ];
    letGo();
    const receipts = await Promise.all([first, ...queued]);

    const summary = appends.map((batch) => batch.map((append) => `${append.projectId === a.id ? 'a' : 'b'}:${append.entries.map((entry) => entry.eventId).join(',')}`));
    // The overflow and log b then make the next batch together (no lock is held back any more).
    assert.deepEqual(summary, [[`a:a0,a1,a2,a3,a4`], [`b:b0`, `a:a5,a6`]], 'appends, in order');
    assert.deepEqual(
      receipts.map((list) => list.map((receipt) => ('index' in receipt ? receipt.index : undefined))),
      [[0, 1], [0], [2, 3], [1, 4], [5, 6]],
    );
  });
});
