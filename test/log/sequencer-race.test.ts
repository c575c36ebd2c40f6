/**
 * Two sequencers on one shared store, one of which appends as if its sequencer lock excluded
 * no one (a lock that failed to exclude, for whatever reason; on PostgreSQL a lost lock now
 * fails the append instead, see postgres-store.test.ts). The store's own checks are then all
 * that stands between the log and a fork or a twice-stored id: a lost race must come back as
 * TreeSizeMismatchError or DuplicateEventIdError, and the sequencer must re-plan from what is
 * stored. Clients retry what was still refused; in the end every id is in the log once, and
 * every receipt either sequencer gave for an id names the same index.
 *
 * Also: two sequencers taking turns on one log through their locks read no tiles, the lock
 * bringing the log's edge with it.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, initStore, testProject } from '../helpers/stores.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import { Sequencer, type Receipt } from '../../src/log/sequencer.ts';
import { isDropped, prepareEvents, type PreparedEvent } from '../../src/log/prepare.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { DuplicateEventIdError, TreeSizeMismatchError, type Store } from '../../src/store/store.ts';

/** How often a client sends one request before the test gives up on it. */
const MAX_ATTEMPTS = 50;

const lostRace = (error: unknown) => error instanceof TreeSizeMismatchError || error instanceof DuplicateEventIdError;

/**
 * The same store, counting in `races` the appends it refused because another sequencer got
 * there first; with `lockLost`, as seen by a node whose sequencer lock is gone (lockLogs no
 * longer excludes anyone).
 */
function racing(store: Store, races: { count: number }, lockLost: boolean): Store {
  const counting =
    (run: Store['append']): Store['append'] =>
    (appends) =>
      run(appends).catch((error: unknown) => {
        if (lostRace(error)) races.count++;
        throw error;
      });
  const append = counting((appends) => store.append(appends));
  const lockLogs: Store['lockLogs'] = lockLost
    ? async () => ({ append, release: async () => {} })
    : async (projectIds, knownSizes) => {
        const lock = await store.lockLogs(projectIds, knownSizes);
        return { ...lock, append: counting((appends) => lock.append(appends)) };
      };
  return new Proxy(store, {
    get: (target, property) => (property === 'append' ? append : property === 'lockLogs' ? lockLogs : Reflect.get(target, property, target)),
  });
}

// Only a PostgreSQL store can be opened by a second node at the same time.
for (const engine of ENGINES.filter((e) => e === 'postgres')) {
  /** A store and a second one on its database (two nodes), and a project on them. */
  const twoStoresOnOneLog = async (t: TestContext) => {
    const handle = await initStore(engine);
    t.after(() => handle.destroy());
    const otherStore = await PgStore.open({ url: handle.url! });
    t.after(() => otherStore.close());
    const project = testProject();
    await handle.store.createProject(project);
    return { handle, otherStore, project };
  };

  describe(`${engine}: sequencers racing on one log`, () => {
    it('a sequencer whose lock excludes no one never forks the log or stores an id twice', async (t) => {
      const { handle, otherStore, project } = await twoStoresOnOneLog(t);
      const races = { count: 0 };
      const sequencers = [new Sequencer(racing(handle.store, races, false)), new Sequencer(racing(otherStore, races, true))];

      // 300 ids, each sent by both sequencers in requests of 3, in opposite orders.
      const ids = Array.from({ length: 300 }, (_, i) => `id-${i}`);
      const receipts = new Map<string, Receipt[]>();
      let refused = 0;
      const client = async (sequencer: Sequencer, order: string[]) => {
        for (let i = 0; i < order.length; i += 3) {
          const events = order.slice(i, i + 3).map((eventId) => ({ eventId, same: 'content' }));
          const outcome = prepareEvents(project.id, events, new Date().toISOString(), { maxEvents: 100, maxEventBytes: 1 << 20 });
          assert.ok(outcome.ok);
          const prepared = outcome.items.filter((item): item is PreparedEvent => !isDropped(item));
          for (let attempt = 1; ; attempt++) {
            try {
              for (const receipt of await sequencer.submit(project.id, prepared)) receipts.set(receipt.eventId, [...(receipts.get(receipt.eventId) ?? []), receipt]);
              break;
            } catch (error) {
              // Lost the race more often than the sequencer re-plans: a client retries that, and nothing else.
              if (!lostRace(error) || attempt === MAX_ATTEMPTS) throw error;
              refused++;
            }
          }
        }
      };
      await Promise.all([client(sequencers[0]!, ids), client(sequencers[1]!, [...ids].reverse()), client(sequencers[0]!, ids.filter((_, i) => i % 2 === 0))]);
      await Promise.all(sequencers.map((s) => s.close()));

      const size = await handle.store.treeSize(project.id);
      assert.equal(size, ids.length, 'each id was appended once');
      const stored = await handle.store.readEntries(project.id, 0, size);
      assert.deepEqual(new Set(stored.map((e) => JSON.parse(e.envelope.toString()).eventId)), new Set(ids));
      for (const [eventId, list] of receipts) {
        assert.equal(new Set(list.map((r) => r.index)).size, 1, `one index for ${eventId}`);
        assert.equal(list.filter((r) => !r.duplicate).length <= 1, true, `${eventId} was appended at most once`);
      }
      // The stored tiles are the tree of the stored entries: no sequencer wrote over another.
      const edge = TreeEdge.fromTiles(size, await handle.store.readTiles(project.id, TreeEdge.tilesFor(size)));
      const rebuilt = TreeEdge.empty().extend(stored.map((e) => leafHash(e.envelope))).edge;
      assert.deepEqual(edge.root(), rebuilt.root());
      assert.deepEqual(await new TreeReader(handle.store).root(project.id, size), rebuilt.root());
      // The sequencers really raced, and re-planned most lost races themselves: without that, each
      // race lost would reach a client as at least one refused request.
      assert.ok(races.count > 0, 'the sequencers raced');
      assert.ok(refused < races.count, `${refused} requests refused for ${races.count} races lost`);
      t.diagnostic(`${races.count} appends refused by the store, ${refused} requests refused and retried by their client`);
    });

    it('two sequencers taking turns on one log read no tiles: each lock brings the edge the other moved', async (t) => {
      const { handle, otherStore, project } = await twoStoresOnOneLog(t);
      let tileReads = 0;
      const counting = (store: Store): Store =>
        new Proxy(store, {
          get: (target, property) =>
            property === 'readTiles'
              ? (...args: Parameters<Store['readTiles']>) => {
                  tileReads++;
                  return target.readTiles(...args);
                }
              : Reflect.get(target, property, target),
        });
      const sequencers = [new Sequencer(counting(handle.store)), new Sequencer(counting(otherStore))];
      // 600 events in requests of 3, each to the other sequencer than the last, past two tile
      // boundaries (256, 512): every batch finds its edge moved by the other.
      for (let i = 0; i < 600; i += 3) {
        const events = [i, i + 1, i + 2].map((n) => ({ eventId: `id-${n}`, n }));
        const outcome = prepareEvents(project.id, events, new Date().toISOString(), { maxEvents: 100, maxEventBytes: 1 << 20 });
        assert.ok(outcome.ok);
        await sequencers[(i / 3) % 2]!.submit(project.id, outcome.items.filter((item): item is PreparedEvent => !isDropped(item)));
      }
      await Promise.all(sequencers.map((s) => s.close()));
      assert.equal(tileReads, 0, 'no batch read tiles');
      const stored = await handle.store.readEntries(project.id, 0, 600);
      assert.equal(stored.length, 600);
      assert.deepEqual(await new TreeReader(handle.store).root(project.id, 600), TreeEdge.empty().extend(stored.map((e) => leafHash(e.envelope))).edge.root());
    });

    it('a sequencer alone on its log is brought no tiles by its locks: the edge it remembers is current', async (t) => {
      const { handle, project } = await twoStoresOnOneLog(t);
      const brought: number[] = []; // edge tiles each lock brought
      const store = new Proxy(handle.store, {
        get: (target, property) =>
          property === 'lockLogs'
            ? async (...args: Parameters<Store['lockLogs']>) => {
                const lock = await target.lockLogs(...args);
                brought.push(lock.edgeTiles?.get(project.id)?.size ?? 0);
                return lock;
              }
            : Reflect.get(target, property, target),
      });
      const sequencer = new Sequencer(store);
      // Past a tile boundary, so that the edge has partial tiles on two levels to bring.
      for (let i = 0; i < 300; i += 3) {
        const outcome = prepareEvents(project.id, [i, i + 1, i + 2].map((n) => ({ eventId: `id-${n}`, n })), new Date().toISOString(), { maxEvents: 100, maxEventBytes: 1 << 20 });
        assert.ok(outcome.ok);
        await sequencer.submit(project.id, outcome.items.filter((item): item is PreparedEvent => !isDropped(item)));
      }
      await sequencer.close();
      assert.equal(brought.length, 100);
      assert.deepEqual(brought.filter((n) => n > 0), [], 'no lock brought tiles');
    });
  });
}
