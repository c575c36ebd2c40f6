/**
 * The checkpointer signs only what the store really holds: it re-hashes stored entry bytes
 * before signing, refuses when they disagree with the stored tiles, and never signs a size that
 * is not consistent with the last checkpoint. A changed entry is caught on both engines (on
 * PostgreSQL the database hashes the bytes), and two nodes signing one log at once verify its
 * entries once between them.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { appendLeaves, ENGINES, initStore, testProject, type EngineName, type TestStore } from '../helpers/stores.ts';
import { Checkpointer } from '../../src/log/checkpointer.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { signerFromSeed, openNote } from '../../src/log/signed-note.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { FatalError } from '../../src/core/errors.ts';
import { SQLITE_MAIN_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { withClient } from '../helpers/postgres.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';

const signer = signerFromSeed('checkpointer.test', Buffer.alloc(32, 9));

/**
 * Changes an entry's bytes behind the store's back, as a disk or an intruder might. PostgreSQL
 * hashes the bytes itself (store.hashEntries), so the check is exercised on both engines.
 */
const CHANGE_ENTRY: Record<EngineName, (handle: TestStore, from: Buffer, to: Buffer) => Promise<void>> = {
  async sqlite(handle, from, to) {
    const db = new Database(path.join(handle.dataDir, SQLITE_MAIN_FILE));
    db.prepare('UPDATE entries SET envelope = ? WHERE envelope = ?').run(to, from);
    db.close();
  },
  async postgres(handle, from, to) {
    await withClient(handle.url!, (client) => client.query('UPDATE entries SET envelope = $1 WHERE envelope = $2', [to, from]));
  },
};

describe('checkpointer', () => {
  it('signs growing logs with the stored root, and waiters get the covering checkpoint', async (t) => {
    const handle = await initStore('sqlite');
    t.after(() => handle.destroy());
    const project = testProject();
    await handle.store.createProject(project);
    const checkpointer = new Checkpointer(handle.store, signer, { intervalMs: 20 });
    checkpointer.start();
    t.after(() => checkpointer.stop());
    const envelopes = Array.from({ length: 10 }, (_, i) => Buffer.from(`{"i":${i}}`));
    await appendLeaves(handle.store, project.id, envelopes.map(leafHash), envelopes);
    checkpointer.markDirty(project.id);
    const checkpoint = await checkpointer.waitFor(project.id, 10);
    const body = parseCheckpoint(openNote(checkpoint.note, [signer]));
    assert.equal(body.size, 10);
    assert.deepEqual(body.root, await new TreeReader(handle.store).root(project.id, 10));
    assert.equal(body.origin, project.logOrigin);
  });

  for (const engine of ENGINES) {
    it(`refuses to sign when a stored entry no longer matches its stored leaf hash, naming the entry (${engine})`, async (t) => {
      const handle = await initStore(engine);
      t.after(() => handle.destroy());
      const project = testProject();
      await handle.store.createProject(project);
      const checkpointer = new Checkpointer(handle.store, signer);
      await checkpointer.signLog(project.id);
      const envelopes = Array.from({ length: 20 }, (_, i) => Buffer.from(`{"i":${i}}`));
      await appendLeaves(handle.store, project.id, envelopes.map(leafHash), envelopes);
      await CHANGE_ENTRY[engine](handle, Buffer.from('{"i":13}'), Buffer.from('{"i":99}'));
      await assert.rejects(checkpointer.signLog(project.id), (error: unknown) => error instanceof FatalError && /entry 13 does not match/.test(error.message));
      assert.equal((await handle.store.latestCheckpoint(project.id))!.treeSize, 0, 'nothing was signed');
    });
  }

  it('refuses to sign when the stored tree no longer folds to the last signed root', async (t) => {
    const handle = await initStore('sqlite');
    t.after(() => handle.destroy());
    const project = testProject();
    await handle.store.createProject(project);
    const checkpointer = new Checkpointer(handle.store, signer);
    const envelopes = Array.from({ length: 5 }, (_, i) => Buffer.from(`{"i":${i}}`));
    await appendLeaves(handle.store, project.id, envelopes.map(leafHash), envelopes);
    await checkpointer.signLog(project.id);
    // Rewrite history: replace the level-0 tile as if entry 2 had been different all along.
    const forged = Buffer.concat(envelopes.map((e, i) => leafHash(i === 2 ? Buffer.from('{"i":"forged"}') : e)));
    await handle.store.append([{ projectId: project.id, fromSize: 5, entries: [], tiles: [{ level: 0, index: 0, hashes: forged }] }]);
    await appendLeaves(handle.store, project.id, [leafHash(Buffer.from('{"i":5}'))], [Buffer.from('{"i":5}')]);
    await assert.rejects(checkpointer.signLog(project.id), (error: unknown) => error instanceof FatalError && /no longer match the signed checkpoint/.test(error.message));
    assert.equal((await handle.store.latestCheckpoint(project.id))!.treeSize, 5);
  });

  // Tile 0/0 fills at 256 entries, among the level-0 tiles the check reads anyway; tile 1/0 at
  // 65,536, above them.
  for (const { size, level } of [
    { size: 300, level: 0 },
    { size: 65_536, level: 1 },
  ]) {
    it(`refuses to sign over a full tile whose stored summary is not its entries'; signs over one stored without (tile ${level}/0)`, async (t) => {
      const handle = await initStore('sqlite');
      t.after(() => handle.destroy());
      const project = testProject();
      await handle.store.createProject(project);
      const checkpointer = new Checkpointer(handle.store, signer);
      const envelopes = Array.from({ length: size }, (_, i) => Buffer.from(`{"i":${i}}`));
      await appendLeaves(handle.store, project.id, envelopes.map(leafHash), envelopes);
      const [tile] = await handle.store.readTilesWithSummaries(project.id, [{ level, index: 0 }]);
      const rewrite = (summary?: Buffer) => handle.store.append([{ projectId: project.id, fromSize: size, entries: [], tiles: [{ level, index: 0, hashes: tile!.hashes, ...(summary ? { summary } : {}) }] }]);
      const changed = Buffer.from(tile!.summary!);
      changed[0]! ^= 1;
      await rewrite(changed);
      await assert.rejects(checkpointer.signLog(project.id), (error: unknown) => error instanceof FatalError && new RegExp(`stored summary of tile ${level}/0 is wrong`).test(error.message));
      assert.equal(await handle.store.latestCheckpoint(project.id), undefined);
      await rewrite(undefined); // as stored before summaries existed
      assert.equal((await checkpointer.signLog(project.id))!.treeSize, size);
    });
  }
});

describe('checkpointer on PostgreSQL', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  /** Counts the entries a store hashes (the real store underneath). */
  function countingHashes(store: Store): { count: () => number } {
    let hashed = 0;
    const hashEntries = store.hashEntries.bind(store);
    store.hashEntries = async (projectId, start, end) => {
      const entries = await hashEntries(projectId, start, end);
      hashed += entries.length;
      return entries;
    };
    return { count: () => hashed };
  }

  /** Two stores (two nodes) on one database, and a log of `count` entries. */
  async function twoStoresOneLog(t: TestContext, count: number) {
    const handle = await initStore('postgres');
    t.after(() => handle.destroy());
    const other = await PgStore.open({ url: handle.url! });
    t.after(() => other.close());
    const project = testProject();
    await handle.store.createProject(project);
    const envelopes = Array.from({ length: count }, (_, i) => Buffer.from(`{"i":${i}}`));
    await appendLeaves(handle.store, project.id, envelopes.map(leafHash), envelopes);
    return { handle, other, project };
  }

  it('two nodes signing one log at once verify its entries once, and both get the checkpoint', async (t) => {
    const { handle, other, project } = await twoStoresOneLog(t, 5000);
    const stores = [handle.store, other];
    const counters = stores.map(countingHashes);
    const nodes = stores.map((store) => new Checkpointer(store, signer, { intervalMs: 50 }));
    // Both nodes wait for the checkpoint before either signs; the one refused the lease answers
    // its waiter with the other's checkpoint, on the pass it was refused or the next one.
    const waiting = Promise.all(nodes.map((node) => node.waitFor(project.id, 5000)));
    await Promise.all(nodes.map((node) => node.runPass()));
    for (const node of nodes) node.start();
    t.after(() => Promise.all(nodes.map((node) => node.stop())));
    assert.deepEqual(
      (await waiting).map((c) => c.treeSize),
      [5000, 5000],
    );
    assert.equal(counters[0]!.count() + counters[1]!.count(), 5000, 'entries hashed by the two nodes together');
    assert.equal(await handle.store.latestCheckpoint(project.id).then((c) => c?.treeSize), 5000);
  });

  it('a long verification renews the signing lease, so another node does not verify the same entries meanwhile', async (t) => {
    const { handle, other, project } = await twoStoresOneLog(t, 15 * 2048);
    // Each verified chunk takes 100 ms more; the lease lasts 1 s: the pass outlives it unless renewed.
    const hashEntries = handle.store.hashEntries.bind(handle.store);
    let verifying = () => {};
    const started = new Promise<void>((resolve) => (verifying = resolve));
    handle.store.hashEntries = async (...args) => {
      verifying();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return hashEntries(...args);
    };
    const slow = new Checkpointer(handle.store, signer, { intervalMs: 50, signingLeaseMs: 1000 });
    const counter = countingHashes(other);
    // When the other node asked for the lease, and whether it got it.
    const asked: Array<{ at: number; got: boolean }> = [];
    const takeLease = other.takeLease.bind(other);
    other.takeLease = async (...args) => {
      const got = await takeLease(...args);
      asked.push({ at: performance.now(), got });
      return got;
    };
    // Its lease as short, so that a refused node asks again every 100 ms.
    const second = new Checkpointer(other, signer, { intervalMs: 50, signingLeaseMs: 1000 });
    t.after(() => Promise.all([slow.stop(), second.stop()]));
    slow.markDirty(project.id);
    let signedAt = Infinity;
    const signing = slow.runPass().then(() => void (signedAt = performance.now()));
    await started; // it holds the lease now
    const leaseRanOut = performance.now() + 1000;
    for (let done = false; !done; ) {
      second.markDirty(project.id);
      await second.runPass();
      done = await Promise.race([signing.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50))]);
    }
    assert.ok(
      asked.some((ask) => ask.at > leaseRanOut + 100),
      `the other node asked for the lease after it would have run out unrenewed (asked at ${asked.map((ask) => Math.round(ask.at - leaseRanOut)).join(', ')} ms)`,
    );
    assert.ok(
      asked.filter((ask) => ask.at < signedAt).every((ask) => !ask.got),
      'and was refused every time while the pass ran',
    );
    assert.equal(counter.count(), 0, 'so it verified nothing');
    assert.equal((await other.latestCheckpoint(project.id))?.treeSize, 15 * 2048);
    await Promise.all([slow.stop(), second.stop()]); // before the stores close (t.after runs first in, first out)
  });

  it('a pass that finds its signing lease taken mid-verification stops there, and leaves the log to the node that took it', async (t) => {
    const { handle, project } = await twoStoresOneLog(t, 3 * 2048);
    const counter = countingHashes(handle.store);
    // The lease is granted once; renewing it is refused, as when another node took it over.
    let grants = 0;
    const takeLease = handle.store.takeLease.bind(handle.store);
    handle.store.takeLease = async (...args) => grants++ === 0 && takeLease(...args);
    const errors: unknown[] = [];
    // A lease of 1 ms: the pass asks to renew it after its first chunk.
    const node = new Checkpointer(handle.store, signer, { intervalMs: 50, signingLeaseMs: 1, onFatal: (_id, error) => errors.push(error) });
    t.after(() => node.stop());
    node.markDirty(project.id);
    await node.runPass();
    assert.equal(counter.count(), 2048, 'one chunk verified, then it stopped');
    assert.equal(await handle.store.latestCheckpoint(project.id), undefined, 'and signed nothing');
    assert.deepEqual(errors, [], 'a lost lease is no failure of the log');
    await node.stop(); // its last pass signs without the lease, before the store closes
    assert.equal((await handle.store.latestCheckpoint(project.id))?.treeSize, 3 * 2048);
  });

  it('a node stopping signs what it grew even while another node holds the lease', async (t) => {
    const { handle, other, project } = await twoStoresOneLog(t, 3000);
    // The other node holds the log's signing lease, as if it were signing (or had died doing so).
    assert.ok(await other.takeLease(`checkpoint/${project.id}`, 'another node', 60_000));
    const node = new Checkpointer(handle.store, signer, { intervalMs: 50 });
    node.markDirty(project.id);
    await node.runPass();
    assert.equal(await handle.store.latestCheckpoint(project.id), undefined, 'refused the lease, it signed nothing');
    await node.stop();
    assert.equal((await handle.store.latestCheckpoint(project.id))?.treeSize, 3000, 'its last pass signed without the lease');
  });
});
