/**
 * The search indexer follows each log in index order, off the commit path; it rebuilds a lost
 * index in the background, and its lag is visible.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { VeritrailNode } from '../../src/api/node.ts';
import { SQLITE_SEARCH_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { searchEvents } from '../../src/query/search.ts';
import { SearchIndexer } from '../../src/query/search-indexer.ts';
import { SearchProgress } from '../../src/query/search-progress.ts';
import { SearchIndexerThread } from '../../src/query/search-indexer-thread.ts';
import { SearchPacing, type SearchPacingConfig } from '../../src/query/search-pacing.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { waitUntil } from '../helpers/wait.ts';
import { randomBytes } from 'node:crypto';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';
import { generateSigner } from '../../src/log/signed-note.ts';
import { ENGINES, tempDir } from '../helpers/stores.ts';
import { postgresCluster } from '../helpers/postgres.ts';

async function open(dataDir: string): Promise<VeritrailNode> {
  return VeritrailNode.open({ dataDir, port: 0, originHost: 'indexer.test', checkpointIntervalMs: 50, log: false });
}

/** A node on a fresh data directory with one project; closed, then removed, after the test. */
async function nodeWithProject(t: TestContext, name: string) {
  const dataDir = tempDir();
  const node = await open(dataDir);
  t.after(async () => {
    await node.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { node, project: await node.createProject(name) };
}

async function ingest(node: VeritrailNode, projectId: string, count: number, from = 0): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({ eventId: `i${from + i}`, action: (from + i) % 2 === 0 ? 'even' : 'odd', n: from + i }));
  await node.appender.append(projectId, node.appender.prepare(projectId, events, new Date().toISOString()));
}

describe('search indexer', () => {
  it('indexes every committed entry in order, and rebuilds a lost index after a restart', async (t) => {
    const dataDir = tempDir();
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let node = await open(dataDir);
    const project = await node.createProject('indexer');
    for (let b = 0; b < 5; b++) await ingest(node, project.id, 700, b * 700);
    assert.equal(await node.searchIndexer.waitFor(project.id, 3500, 60_000), 3500);
    assert.equal(node.searchIndexer.lag().get(project.id), 0);
    const odd = await searchEvents(node.store, node.searchIndexer, project.id, { eventName: 'odd', limit: 1000 });
    // Newest first, every odd entry: 3499, 3497, … 1501 (batches were received one after another).
    assert.deepEqual(
      odd.hits.map((h) => h.index),
      Array.from({ length: 1000 }, (_, i) => 3499 - 2 * i),
    );
    assert.ok(odd.next);
    await node.close();

    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dataDir, SQLITE_SEARCH_FILE + suffix), { force: true });
    node = await open(dataDir);
    t.after(() => node.close());
    // The node is up at once; the search index comes back in the background.
    assert.equal(await node.searchIndexer.waitFor(project.id, 3500, 60_000), 3500);
    const even = await searchEvents(node.store, node.searchIndexer, project.id, { eventName: 'even', order: 'asc', limit: 3 });
    assert.deepEqual(even.hits.map((h) => h.index), [0, 2, 4]);
  });

  it('keeps one chunk in flight while the log grows or the indexer yields, and two while it catches up on a log that stopped', async (t) => {
    const { node, project } = await nodeWithProject(t, 'in flight');
    await node.searchIndexer.stop(); // the node's own indexer would index these first
    await ingest(node, project.id, 3000); // six chunks
    // The real store, each write held 30 ms longer so that overlapping calls can be seen.
    const store = node.store;
    let inFlight = 0;
    let most = 0;
    let beforeWrite = () => {};
    const writes = Object.create(store) as Store;
    writes.indexForSearch = async (...args) => {
      beforeWrite();
      most = Math.max(most, ++inFlight);
      try {
        const written = await store.indexForSearch(...args);
        await new Promise((resolve) => setTimeout(resolve, 30));
        return written;
      } finally {
        inFlight--;
      }
    };
    const catchingUp = new SearchIndexer(writes);
    t.after(() => catchingUp.stop());
    catchingUp.markDirty(project.id); // start-up: no growth seen
    assert.equal(await catchingUp.waitFor(project.id, 3000, 60_000), 3000);
    await catchingUp.stop();
    assert.equal(most, 2, 'chunks in flight while catching up');

    await ingest(node, project.id, 3000, 3000);
    most = 0;
    const following = new SearchIndexer(writes);
    t.after(() => following.stop());
    // The log grows all along, as under a load: a commit is reported before each write.
    let size = 6000;
    beforeWrite = () => following.markDirty(project.id, ++size);
    following.markDirty(project.id, 6000);
    assert.equal(await following.waitFor(project.id, 6000, 60_000), 6000);
    await following.stop();
    assert.equal(most, 1, 'chunks in flight while the log grows');

    // Catching up on a log that stopped, but yielding to a backlog (of other logs, say): one
    // chunk in flight after the first rest, so that nothing is written while it rests.
    await ingest(node, project.id, 3000, 6000);
    most = 0;
    beforeWrite = () => {};
    const yielding = new SearchIndexer(writes, { pacing: new SearchPacing({ spareShare: () => 0, clock: { now: () => 0 } }) });
    t.after(() => yielding.stop());
    yielding.markDirty(project.id, 9000, true); // the first size seen: no growth
    let written = 0;
    beforeWrite = () => void (written++ === 2 && (most = 0)); // from the third chunk on
    assert.equal(await yielding.waitFor(project.id, 9000, 60_000), 9000);
    await yielding.stop();
    assert.equal(most, 1, 'chunks in flight while yielding');
  });

  it('yields to ingest: rests between chunks while commits report a backlog and the CPUs have no time to spare, and indexes straight through otherwise', async (t) => {
    const { node } = await nodeWithProject(t, 'pacing');
    await node.searchIndexer.stop(); // the node's own indexer would index these first
    // One log per case, each of six chunks; a clock that stands still keeps every backlog fresh.
    const indexWith = async (name: string, spare: number, backlog: boolean) => {
      const project = await node.createProject(name);
      await ingest(node, project.id, 3000);
      const rests: number[] = [];
      const pacing = new SearchPacing({ spareShare: () => spare, clock: { now: () => 0 } });
      const indexer = new SearchIndexer(node.store, { pacing, onRest: (ms) => rests.push(ms) });
      t.after(() => indexer.stop());
      indexer.markDirty(project.id, 3000, backlog);
      assert.equal(await indexer.waitFor(project.id, 3000, 60_000), 3000);
      await indexer.stop();
      return rests;
    };
    assert.equal((await indexWith('saturated', 0.02, true)).length, 5, 'a rest between each two chunks, none after the last');
    assert.deepEqual(await indexWith('spare cores', 0.5, true), []);
    assert.deepEqual(await indexWith('no backlog', 0, false), []);
  });

  it('a log whose index caught up may be rested for another minute', async (t) => {
    const { node, project } = await nodeWithProject(t, 'minutes');
    await node.searchIndexer.stop();
    const clock = { ms: 0, now: () => clock.ms };
    const rests: number[] = [];
    const indexer = new SearchIndexer(node.store, { pacing: new SearchPacing({ spareShare: () => 0, clock }), onRest: (ms) => rests.push(ms) });
    t.after(() => indexer.stop());
    for (const size of [1000, 2000]) {
      await ingest(node, project.id, 1000, size - 1000); // two chunks: one rest between them
      indexer.markDirty(project.id, size, true);
      assert.equal(await indexer.waitFor(project.id, size, 60_000), size);
      clock.ms += 61_000; // past the minute since the burst's first rest
    }
    await indexer.stop();
    assert.equal(rests.length, 2, 'the second burst was rested too: the index caught up in between');
  });

  it('yields between logs too: many logs, each less than a chunk behind', async (t) => {
    const { node } = await nodeWithProject(t, 'first of many');
    await node.searchIndexer.stop();
    const projects: Array<{ id: string }> = [];
    for (let i = 0; i < 4; i++) {
      const project = await node.createProject(`many ${i}`);
      await ingest(node, project.id, 100);
      projects.push(project);
    }
    const rests: number[] = [];
    const indexer = new SearchIndexer(node.store, { pacing: new SearchPacing({ spareShare: () => 0, clock: { now: () => 0 } }), onRest: (ms) => rests.push(ms) });
    t.after(() => indexer.stop());
    for (const project of projects) indexer.markDirty(project.id, 100, true);
    // Polled, not waitFor: a waiting search would mark its log dirty again.
    const sizes = () => Promise.all(projects.map((project) => node.store.searchIndexSize(project.id)));
    await waitUntil(async () => (await sizes()).every((size) => size === 100), 'every log indexed');
    await indexer.stop();
    assert.equal(rests.length, 3, 'a rest after each log but the last');
  });

  it('stop() ends a rest at once', { timeout: 30_000 }, async (t) => {
    const { node, project } = await nodeWithProject(t, 'stop resting');
    await node.searchIndexer.stop();
    await ingest(node, project.id, 1500);
    class RestsLong extends SearchPacing {
      override restAfter(): number {
        return 60_000;
      }
    }
    const rests: number[] = [];
    const indexer = new SearchIndexer(node.store, { pacing: new RestsLong(), onRest: (ms) => rests.push(ms) });
    // Catching up (no growth seen): two chunks in flight, then a rest after the first.
    indexer.markDirty(project.id, 1500, true);
    assert.equal(await indexer.waitFor(project.id, 500, 60_000), 500);
    await indexer.stop(); // would take a minute if the rest ran its course
    assert.equal(rests.length, 1);
    assert.ok(rests[0]! < 60_000, `rested ${rests[0]} ms`);
    assert.equal(await node.store.searchIndexSize(project.id), 1000, 'the chunk in flight landed, and no chunk after it');
  });

  it('a node yields search to its own backlog: a commit that leaves events queued makes the indexer rest, counted in veritrail_search_yield_seconds_total', async (t) => {
    const dataDir = tempDir();
    const store = new SqliteStore({ dataDir });
    // Hold the first commit until a second request is queued behind it (a backlog), and the
    // second until the indexer has rested (or 10 s: then the assertion below fails).
    let armed = false;
    let commits = 0;
    let entered = () => {};
    const firstCommitEntered = new Promise<void>((resolve) => (entered = resolve));
    const yielded = async () => (await node.metrics.searchYieldSeconds.get()).values[0]?.value ?? 0;
    const node: VeritrailNode = await VeritrailNode.open({
      dataDir,
      port: 0,
      originHost: 'indexer.test',
      log: false,
      store, // an indexer inline on this thread, over this store
      searchPacing: { enabled: true, assumeSpareShare: 0 }, // SQLite does not yield by default
      sequencerHooks: {
        async beforeCommit() {
          if (!armed) return;
          if (++commits === 1) {
            entered();
            await waitUntil(() => node.sequencer.depth > 0, 'a second request queued');
          } else if (commits === 2) await waitUntil(async () => (await yielded()) > 0, 'the indexer to rest', 10_000).catch(() => {});
        },
      },
    });
    // First in, first out: the node closes before its directory goes.
    t.after(() => node.close());
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const project = await node.createProject('backlog');
    armed = true;
    const first = ingest(node, project.id, 700);
    await firstCommitEntered;
    const second = ingest(node, project.id, 700, 700);
    await Promise.all([first, second]);
    assert.ok((await yielded()) > 0, 'the indexer rested after its first chunk of the 700 entries');
    assert.equal(await node.searchIndexer.waitFor(project.id, 1400, 60_000), 1400, 'and indexed everything once the backlog was gone');
  });

  it('in its own thread, search yields as configured: on SQLite not by default, even with no time to spare; told to, between chunks', async (t) => {
    const { node } = await nodeWithProject(t, 'thread');
    await node.searchIndexer.stop();
    const restsWith = async (name: string, pacing?: SearchPacingConfig) => {
      const project = await node.createProject(name);
      await ingest(node, project.id, 2500); // five chunks
      const rests: number[] = [];
      const thread = new SearchIndexerThread(node.store, { dataDir: node.config.dataDir }, { onRest: (ms) => rests.push(ms), pacing });
      t.after(() => thread.stop());
      // As the sequencer does after each commit that leaves events queued.
      const commits = setInterval(() => thread.markDirty(project.id, 2500, true), 50);
      try {
        assert.equal(await thread.waitFor(project.id, 2500, 60_000), 2500);
      } finally {
        clearInterval(commits);
      }
      await thread.stop(); // its last messages (the rests) arrive before it stops
      return rests;
    };
    assert.deepEqual(await restsWith('sqlite default', { assumeSpareShare: 0 }), [], 'SQLite does not yield unless told to, saturated or not');
    assert.ok((await restsWith('no time to spare', { enabled: true, assumeSpareShare: 0 })).length > 0, 'the thread rested between chunks');
  });

  it('a search waits a bounded time for the index: to its timeout, then the size read again; or until the indexer reports the size', async () => {
    let indexedInStore = 3;
    const progress = new SearchProgress({ searchIndexSize: async () => indexedInStore } as unknown as Store);
    let wakesA = 0;
    let wakesB = 0;
    const started = performance.now();
    const a = progress.waitFor('a', 10, 200, false, () => wakesA++).then((indexed) => ({ indexed, ms: performance.now() - started }));
    const b = progress.waitFor('b', 5, 60_000, false, () => wakesB++).then((indexed) => ({ indexed, ms: performance.now() - started }));
    // The index grows without a report reaching the waiter (another node's indexer, say).
    indexedInStore = 7;
    await new Promise((resolve) => setTimeout(resolve, 20));
    progress.record('b', 5, 8);
    const [timedOut, released] = await Promise.all([a, b]);
    // libuv's clock counts whole milliseconds, so a timer may fire up to one early by performance.now().
    assert.ok(timedOut.ms >= 199, `waited ${timedOut.ms} ms, not its 200`);
    assert.equal(timedOut.indexed, 7, 'the size read again when the time ran out');
    assert.ok(released.ms < 200, `released by the report after ${released.ms} ms`);
    assert.equal(released.indexed, 5);
    assert.deepEqual([wakesA, wakesB], [1, 1], 'each waiter woke the indexer once');
  });

  it('with the indexer stopped, a search waits for nothing and reports what it could not see', async (t) => {
    const { node, project } = await nodeWithProject(t, 'lag');
    await node.searchIndexer.stop(); // as if the indexer were far behind
    await ingest(node, project.id, 10);
    const page = await searchEvents(node.store, node.searchIndexer, project.id, {}, { indexWaitMs: 50 });
    assert.deepEqual(page.hits, []);
    assert.equal(page.lag, 10);
  });

  it('a thread that died (its store failed) and awaits its restart still stops at once', async (t) => {
    const dataDir = tempDir();
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const store = new SqliteStore({ dataDir });
    t.after(() => store.close());
    // The thread opens a store of its own where there is none: it fails to start, and exits.
    const errors: unknown[] = [];
    const thread = new SearchIndexerThread(store, { dataDir: path.join(dataDir, 'missing') }, { onError: (_projectId, error) => errors.push(error) });
    await waitUntil(() => errors.length > 0, 'the thread to fail');
    await new Promise((resolve) => setTimeout(resolve, 100)); // its exit comes after its error
    const outcome = await Promise.race([thread.stop().then(() => 'stopped'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);
    assert.equal(outcome, 'stopped');
  });

  it('a node standing by keeps following a log that a commit marks while its progress is being read', async (t) => {
    // A shared store whose search lease another node holds, and whose reads of the index's
    // size this test holds up and counts.
    const sizes = { tree: 10, indexed: 0 };
    let progressReads = 0;
    let holdRead: Promise<void> | undefined;
    const store = {
      capabilities: { engine: 'fake', concurrentWriters: true, searchWritesInServer: true },
      takeLease: async () => false,
      dropLease: async () => {},
      treeSize: async () => sizes.tree,
      searchIndexSize: async () => {
        progressReads++;
        const indexed = sizes.indexed;
        await holdRead;
        return indexed;
      },
      searchBacklog: async () => [],
    } as unknown as Store;
    const indexer = new SearchIndexer(store, { pacing: { enabled: false } });
    t.after(() => indexer.stop());
    indexer.markDirty('p', 10); // asks for the lease, is refused, follows the log (0 of 10)
    await waitUntil(() => progressReads >= 1, 'the first read of its progress', 5000);
    // The other node catches up; this node's next poll reads that, held up meanwhile...
    let release!: () => void;
    holdRead = new Promise((resolve) => (release = resolve));
    sizes.indexed = 10;
    await waitUntil(() => progressReads >= 2, 'a poll reading its progress', 5000);
    // ...while a commit of this node's grows the log, and the other node indexes that too.
    sizes.tree = 11;
    indexer.markDirty('p', 11);
    sizes.indexed = 11;
    release();
    holdRead = undefined;
    // The read in flight saw 10 of 10 (caught up, then); the commit keeps the log followed, so
    // a later poll reads the 11.
    await waitUntil(() => indexer.lag().get('p') === 0 && progressReads >= 3, 'a later poll reading the 11', 5000);
    assert.equal(indexer.lag().get('p'), 0);
  });

  it('nodes sharing PostgreSQL: one indexes every log, another follows its progress, and takes over when it stops', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, async (t) => {
    const cluster = await postgresCluster();
    const url = await cluster.createDatabase();
    t.after(() => cluster.dropDatabase(url));
    const shared = { checkpointKey: generateSigner('indexer.test').signerText, serverSecret: randomBytes(32).toString('base64') };
    // Each node over a store of its own (inline indexer), counting the chunks it indexes and
    // the times it reads how far the index got.
    const indexedBy = new Map<string, number>();
    const progressReadsBy = new Map<string, number>();
    const openNode = async (name: string) => {
      const store = await PgStore.open({ url });
      const counting = new Proxy(store, {
        get(target, key, receiver) {
          if (key === 'searchIndexSize') {
            return (projectId: string) => {
              progressReadsBy.set(name, (progressReadsBy.get(name) ?? 0) + 1);
              return target.searchIndexSize(projectId);
            };
          }
          if (key !== 'indexForSearch') return Reflect.get(target, key, receiver);
          return (...args: Parameters<Store['indexForSearch']>) => {
            indexedBy.set(name, (indexedBy.get(name) ?? 0) + 1);
            return target.indexForSearch(...args);
          };
        },
      });
      const dataDir = tempDir();
      t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      const node = await VeritrailNode.open({ dataDir, port: 0, originHost: 'indexer.test', checkpointIntervalMs: 50, log: false, store: counting, ...shared });
      t.after(() => node.close());
      return node;
    };
    const a = await openNode('a');
    const project = await a.createProject('shared');
    await ingest(a, project.id, 100);
    assert.equal(await a.searchIndexer.waitFor(project.id, 100, 60_000), 100, 'a, alone, indexes');

    const b = await openNode('b');
    await ingest(b, project.id, 300, 100);
    // b's searches wait for a's indexer to reach b's own writes.
    assert.equal(await b.searchIndexer.waitFor(project.id, 400, 60_000), 400);
    const odd = await searchEvents(b.store, b.searchIndexer, project.id, { eventName: 'odd', limit: 1000 });
    assert.equal(odd.hits.length, 200);
    assert.equal(odd.lag, 0);
    assert.equal(indexedBy.get('b') ?? 0, 0, 'b indexed nothing while a held the search lease');
    // Standing by, b reads the index's progress when it polls (every 100 ms), not after each of
    // its commits.
    const readsBefore = progressReadsBy.get('b') ?? 0;
    const started = performance.now();
    for (let i = 0; i < 60; i++) await ingest(b, project.id, 1, 400 + i);
    const polls = Math.ceil((performance.now() - started) / 100) + 1;
    const reads = (progressReadsBy.get('b') ?? 0) - readsBefore;
    assert.ok(reads <= polls && reads < 30, `${reads} progress reads over 60 commits and ${polls} polls`);
    assert.equal(await b.searchIndexer.waitFor(project.id, 460, 60_000), 460);

    await a.close();
    const before = indexedBy.get('a');
    await ingest(b, project.id, 40, 460);
    assert.equal(await b.searchIndexer.waitFor(project.id, 500, 60_000), 500, 'b took the indexing over');
    assert.ok((indexedBy.get('b') ?? 0) > 0);
    assert.equal(indexedBy.get('a'), before);
    const all = await searchEvents(b.store, b.searchIndexer, project.id, { limit: 1000 });
    assert.deepEqual(
      all.hits.map((h) => h.index),
      Array.from({ length: 500 }, (_, i) => 499 - i),
    );
  });
});
