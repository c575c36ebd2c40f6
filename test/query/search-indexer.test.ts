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
import { SearchIndexer, SearchProgress } from '../../src/query/search-indexer.ts';
import { SearchIndexerThread } from '../../src/query/search-indexer-thread.ts';
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

  it('keeps one chunk in flight while the log grows, and two while it catches up on a log that stopped', async (t) => {
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

  it('nodes sharing PostgreSQL: one indexes every log, another follows its progress, and takes over when it stops', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, async (t) => {
    const cluster = await postgresCluster();
    const url = await cluster.createDatabase();
    t.after(() => cluster.dropDatabase(url));
    const shared = { checkpointKey: generateSigner('indexer.test').signerText, serverSecret: randomBytes(32).toString('base64') };
    // Each node over a store of its own (inline indexer), counting the chunks it indexes.
    const indexedBy = new Map<string, number>();
    const openNode = async (name: string) => {
      const store = await PgStore.open({ url });
      const counting = new Proxy(store, {
        get(target, key, receiver) {
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

    await a.close();
    const before = indexedBy.get('a');
    await ingest(b, project.id, 100, 400);
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
