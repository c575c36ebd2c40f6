/**
 * When the sequencer looks a batch's event ids up before appending. On PostgreSQL the append
 * finds a stored id by itself (its unique index), so a log that shows no duplicates is appended
 * without the lookup; a stored id is refused by the append, and the batch is planned again with
 * the ids of all its logs looked up, so the client still gets the original receipt. That log
 * then looks ids up first for LOOKUP_BATCHES_AFTER_DUPLICATE batches, counted from the last in
 * which a lookup found a stored id. On SQLite every batch looks up first, as the append would
 * look up itself.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, initStore, testProject, type EngineName } from '../helpers/stores.ts';
import { LOOKUP_BATCHES_AFTER_DUPLICATE, Sequencer, type Receipt } from '../../src/log/sequencer.ts';
import { isDropped, prepareEvents, type PreparedEvent } from '../../src/log/prepare.ts';
import { DuplicateEventIdError, type LogAppend, type Store } from '../../src/store/store.ts';

function events(projectId: string, fields: Array<{ eventId: string; [field: string]: unknown }>): PreparedEvent[] {
  const outcome = prepareEvents(projectId, fields, new Date().toISOString(), { maxEvents: 100, maxEventBytes: 1 << 20 });
  assert.ok(outcome.ok);
  return outcome.items.filter((item): item is PreparedEvent => !isDropped(item));
}

/**
 * The real store, counting the sequencer's lookups, the appends it refused for a stored id, and
 * the locks taken for a log whose size the sequencer did not know (its edge to be read again).
 */
function counting(store: Store) {
  const counts = { lookups: 0, refused: 0 };
  const locks = { sizeUnknown: 0 };
  const counted = new Proxy(store, {
    get: (target, property) => {
      if (property === 'findByEventIds')
        return (projectId: string, ids: readonly string[]) => {
          counts.lookups++;
          return target.findByEventIds(projectId, ids);
        };
      if (property === 'lockLogs')
        return async (projects: string[], knownSizes?: ReadonlyMap<string, number>) => {
          if (projects.some((p) => !knownSizes?.has(p))) locks.sizeUnknown++;
          const lock = await target.lockLogs(projects, knownSizes);
          return {
            ...lock,
            append: async (batch: LogAppend[]) => {
              try {
                return await lock.append(batch);
              } catch (error) {
                if (error instanceof DuplicateEventIdError) counts.refused++;
                throw error;
              }
            },
          };
        };
      return Reflect.get(target, property, target);
    },
  }) as Store;
  return { store: counted, counts, locks };
}

/** A real store with `count` projects, the counting view of it, and a sequencer over that view. */
async function setUp(t: TestContext, engine: EngineName, count: number) {
  const handle = await initStore(engine);
  const { store, counts, locks } = counting(handle.store);
  const sequencer = new Sequencer(store);
  // The sequencer stops before its store goes.
  t.after(async () => {
    await sequencer.close();
    await handle.destroy();
  });
  const projects: string[] = [];
  for (let i = 0; i < count; i++) {
    const project = testProject();
    await handle.store.createProject(project);
    projects.push(project.id);
  }
  return { store: handle.store, counts, locks, sequencer, projects };
}

for (const engine of ENGINES) {
  describe(`${engine}: the sequencer's id lookups`, () => {
    const appendFinds = engine === 'postgres';

    it(appendFinds ? 'looks ids up only after the append found a stored one, for a while' : 'looks every batch up first', async (t) => {
      const { store, counts, locks, sequencer, projects: [p] } = await setUp(t, engine, 1);

      const first = await sequencer.submit(p!, events(p!, [{ eventId: 'e0' }, { eventId: 'e1' }]));
      assert.deepEqual(first.map((r) => r.index), [0, 1]);
      assert.deepEqual(counts, { lookups: appendFinds ? 0 : 1, refused: 0 }, 'a log with no duplicates');

      // e1 again, with its content: the original receipt, whichever way it is found.
      const again = await sequencer.submit(p!, events(p!, [{ eventId: 'e1' }, { eventId: 'e2' }]));
      assert.deepEqual(again.map((r) => [r.index, r.duplicate]), [[1, true], [2, false]]);
      assert.deepEqual(counts, appendFinds ? { lookups: 1, refused: 1 } : { lookups: 2, refused: 0 }, 'the stored id found');
      assert.equal(locks.sizeUnknown, 1, 'a refused append leaves the log where it was: its edge is kept');

      // A stored id was found: the next batches look up first, and no append is refused. This
      // one finds e1 again, so the count of batches starts again from it.
      await sequencer.submit(p!, events(p!, [{ eventId: 'e1' }]));
      assert.deepEqual(counts, appendFinds ? { lookups: 2, refused: 1 } : { lookups: 3, refused: 0 }, 'the batch after');

      // LOOKUP_BATCHES_AFTER_DUPLICATE batches, that one included, look up; the next does not.
      let before = counts.lookups;
      for (let i = 0; i < LOOKUP_BATCHES_AFTER_DUPLICATE - 1; i++) await sequencer.submit(p!, events(p!, [{ eventId: `f${i}` }]));
      assert.equal(counts.lookups - before, LOOKUP_BATCHES_AFTER_DUPLICATE - 1, 'the batches within the count');
      before = counts.lookups;
      await sequencer.submit(p!, events(p!, [{ eventId: 'g0' }]));
      assert.equal(counts.lookups - before, appendFinds ? 0 : 1, 'the batch past it');
      assert.deepEqual(counts.refused, appendFinds ? 1 : 0);
      assert.equal(await store.treeSize(p!), 3 + LOOKUP_BATCHES_AFTER_DUPLICATE - 1 + 1, 'every new event once');
    });

    it(appendFinds ? 'stored ids in two logs of one batch cost one refused append' : 'stored ids in two logs of one batch: no append refused', async (t) => {
      const { counts, sequencer, projects } = await setUp(t, engine, 2);

      await Promise.all(projects.map((p) => sequencer.submit(p, events(p, [{ eventId: 'e0' }]))));
      // Queued together, so one batch holds both; each log already holds e0.
      const receipts = await Promise.all(projects.map((p) => sequencer.submit(p, events(p, [{ eventId: 'e0' }, { eventId: 'e1' }]))));
      assert.deepEqual(receipts.map((list) => list.map((r) => [r.index, r.duplicate])), [[[0, true], [1, false]], [[0, true], [1, false]]]);
      assert.equal(counts.refused, appendFinds ? 1 : 0);
    });

    it('a stored id sent with other content, then with its own, in one batch: the stored event decides', async (t) => {
      const { store, counts, sequencer, projects: [p] } = await setUp(t, engine, 1);
      await sequencer.submit(p!, events(p!, [{ eventId: 'e0', actor: 'alice' }]));

      // Planned without a lookup, the two would conflict with each other (the second refused as
      // "pending"); planned again with the lookup, the first is refused by the stored index and
      // the second gets the stored receipt. Nothing is appended either way.
      const [other, same] = await Promise.allSettled([
        sequencer.submit(p!, events(p!, [{ eventId: 'e0', actor: 'mallory' }])),
        sequencer.submit(p!, events(p!, [{ eventId: 'e0', actor: 'alice' }])),
      ]);
      assert.equal(other.status, 'rejected');
      assert.equal((other as PromiseRejectedResult).reason.code, 'VT_ERR_EVENT_ID_CONFLICT');
      assert.match((other as PromiseRejectedResult).reason.message, /index 0/);
      assert.equal(same.status, 'fulfilled');
      assert.deepEqual((same as PromiseFulfilledResult<Receipt[]>).value.map((r) => [r.index, r.duplicate]), [[0, true]]);
      assert.equal(await store.treeSize(p!), 1, 'nothing appended');
      assert.deepEqual(counts, { lookups: appendFinds ? 1 : 2, refused: 0 }, 'planned again with a lookup, before any append');
    });

    it('an id new to the log, sent with two contents in one batch: the first appended, the second refused', async (t) => {
      const { store, counts, sequencer, projects: [p] } = await setUp(t, engine, 1);
      const [first, second] = await Promise.allSettled([
        sequencer.submit(p!, events(p!, [{ eventId: 'x', actor: 'alice' }])),
        sequencer.submit(p!, events(p!, [{ eventId: 'x', actor: 'mallory' }])),
      ]);
      assert.deepEqual((first as PromiseFulfilledResult<Receipt[]>).value.map((r) => [r.index, r.duplicate]), [[0, false]]);
      assert.equal((second as PromiseRejectedResult).reason.code, 'VT_ERR_EVENT_ID_CONFLICT');
      assert.match((second as PromiseRejectedResult).reason.message, /pending/);
      assert.equal(await store.treeSize(p!), 1);
      // On PostgreSQL planned again with the lookup (which finds nothing) before the one append.
      assert.deepEqual(counts, { lookups: 1, refused: 0 });
    });

    it('a conflict in a log that was looked up does not make the batch planned again', async (t) => {
      const { counts, sequencer, projects: [p, q] } = await setUp(t, engine, 2);
      await sequencer.submit(p!, events(p!, [{ eventId: 'e0' }]));
      await sequencer.submit(p!, events(p!, [{ eventId: 'e0' }])); // p now looks up first (on PostgreSQL)
      const before = { ...counts };
      const settled = await Promise.allSettled([
        sequencer.submit(p!, events(p!, [{ eventId: 'y', actor: 'alice' }])),
        sequencer.submit(p!, events(p!, [{ eventId: 'y', actor: 'mallory' }])),
        sequencer.submit(q!, events(q!, [{ eventId: 'z' }])),
      ]);
      assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
      // One lookup, p's; q is not looked up on PostgreSQL, and nothing is planned twice.
      assert.equal(counts.lookups - before.lookups, appendFinds ? 1 : 2);
      assert.equal(counts.refused, before.refused);
    });

    it('a stored id with other content is refused by the stored index, alone or twice in a request', async (t) => {
      const { store, counts, sequencer, projects: [p, q] } = await setUp(t, engine, 2);
      for (const log of [p!, q!]) await sequencer.submit(log, events(log, [{ eventId: 'e0', actor: 'alice' }]));

      // Alone: on PostgreSQL the append finds it, and the batch planned again refuses it.
      await assert.rejects(sequencer.submit(p!, events(p!, [{ eventId: 'e0', actor: 'mallory' }])), { code: 'VT_ERR_EVENT_ID_CONFLICT', message: /index 0/ });
      assert.equal(counts.refused, appendFinds ? 1 : 0, 'found by the append');
      // Twice in one request, other content first: not "pending" against its own second event.
      await assert.rejects(sequencer.submit(q!, events(q!, [{ eventId: 'e0', actor: 'mallory' }, { eventId: 'e0', actor: 'alice' }])), {
        code: 'VT_ERR_EVENT_ID_CONFLICT',
        message: /index 0/,
      });
      assert.equal(counts.refused, appendFinds ? 1 : 0, 'planned again before any append');
      for (const log of [p!, q!]) assert.equal(await store.treeSize(log), 1, 'nothing appended');
    });
  });
}
