/**
 * Two sequencers on one shared store, one of which has lost its sequencer lock unawares (its
 * session died, or it stalled past the lease). The store's own checks are then all that stands
 * between the log and a fork or a twice-stored id: a lost race must come back as
 * TreeSizeMismatchError or DuplicateEventIdError, and the sequencer must re-plan from what is
 * stored. Clients retry what was refused; in the end every id is in the log once, and every
 * receipt either sequencer gave for an id names the same index.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENGINES, initStore, testProject, type EngineName } from '../helpers/stores.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import { Sequencer, type Receipt } from '../../src/log/sequencer.ts';
import { isDropped, prepareEvents, type PreparedEvent } from '../../src/log/prepare.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { leafHash } from '../../src/log/hashing.ts';
import type { Store } from '../../src/store/store.ts';

const NOT_SUPPORTED = 'not supported' as const;
/** Engines whose store another process can open at the same time. */
const SHARED: Record<EngineName, boolean | typeof NOT_SUPPORTED> = { sqlite: NOT_SUPPORTED, postgres: true };

/** The same store, as seen by a node whose sequencer lock is gone: lockLogs no longer excludes anyone. */
function withLostLock(store: Store): Store {
  return new Proxy(store, {
    get: (target, property) => (property === 'lockLogs' ? async () => ({ release: async () => {} }) : Reflect.get(target, property, target)),
  });
}

for (const engine of ENGINES.filter((e) => SHARED[e] === true)) {
  describe(`${engine}: sequencers racing on one log`, () => {
    it('a sequencer that lost its lock never forks the log or stores an id twice', async (t) => {
      const handle = await initStore(engine);
      t.after(() => handle.destroy());
      const otherStore = await PgStore.open({ url: handle.url! });
      t.after(() => otherStore.close());
      const project = testProject();
      await handle.store.createProject(project);
      const sequencers = [new Sequencer(handle.store), new Sequencer(withLostLock(otherStore))];

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
          for (;;) {
            try {
              for (const receipt of await sequencer.submit(project.id, prepared)) receipts.set(receipt.eventId, [...(receipts.get(receipt.eventId) ?? []), receipt]);
              break;
            } catch {
              refused++; // lost the race more often than the sequencer retries; a client retries
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
      t.diagnostic(`${refused} requests refused and retried by their client`);
    });
  });
}
