/**
 * What only the PostgreSQL engine has: the sequencer lease, migrations under a lock when nodes
 * start together, read-only sessions for fsck, and URLs whose password never reaches a message.
 * (The storage contract itself runs on both engines in conformance.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { postgresCluster, withClient } from '../helpers/postgres.ts';
import { ENGINES, testProject } from '../helpers/stores.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.ts';
import { DuplicateEventIdError, StoreUnavailableError, TreeSizeMismatchError, type LogAppend } from '../../src/store/store.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';

async function freshDatabase(t: { after(fn: () => unknown): void }): Promise<string> {
  const cluster = await postgresCluster();
  const url = await cluster.createDatabase();
  t.after(() => cluster.dropDatabase(url));
  return url;
}

/** A fresh database, a store on it (closed after the test), and a project in that store. */
async function storeWithProject(t: { after(fn: () => unknown): void }, options: { poolSize?: number } = {}) {
  const url = await freshDatabase(t);
  const store = await PgStore.open({ url, ...options });
  t.after(() => store.close());
  const project = testProject();
  await store.createProject(project);
  return { url, store, project };
}

function entryAt(projectId: string, fromSize: number, eventId: string): LogAppend {
  return { projectId, fromSize, entries: [{ eventId, envelope: Buffer.from(`{"id":"${eventId}"}`) }], tiles: [] };
}

describe('postgres engine', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  it('a holder that stalls loses the sequencer lock after the lease, and its late append is refused', async (t) => {
    const url = await freshDatabase(t);
    const LEASE_MS = 1000;
    const stalled = await PgStore.open({ url, leaseMs: LEASE_MS });
    const other = await PgStore.open({ url });
    t.after(() => Promise.all([stalled.close(), other.close()]));
    const project = testProject();
    await stalled.createProject(project);

    // The stalled node takes the lock and then does nothing (a hung process, a lost machine).
    // The other node gets the lock once this node's lease ends: not before, and well before the
    // default lease (DEFAULT_POSTGRES_LEASE_MS), which would mean `leaseMs` was not applied.
    const held = await stalled.lockLogs([project.id]);
    const asked = Date.now();
    const taken = await Promise.race([other.lockLogs([project.id]), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5 * LEASE_MS).unref())]);
    const waited = Date.now() - asked;
    assert.ok(taken, `PostgreSQL ended the stalled session within ${5 * LEASE_MS} ms and the other node got the lock`);
    assert.ok(waited >= 0.8 * LEASE_MS, `the other node waited for the lease (${waited} ms)`);
    await other.append([entryAt(project.id, 0, 'from-other')]);
    await taken.release();

    // The stalled node wakes up and carries on with the plan it made at size 0, through the
    // lock it held: its session is gone, so the append fails as unavailable (a 503: its clients
    // retry) and writes nothing. Even without the lock (Store.append), the size check refuses it.
    await assert.rejects(held.append([entryAt(project.id, 0, 'from-stalled')]), StoreUnavailableError);
    await assert.rejects(stalled.append([entryAt(project.id, 0, 'from-stalled')]), TreeSizeMismatchError);
    await held.release(); // its session is gone; releasing is harmless
    await (await stalled.lockLogs([project.id])).release(); // and it can lock again on a new one
    assert.deepEqual((await other.readEntries(project.id, 0, 10)).map((e) => e.envelope.toString()), ['{"id":"from-other"}']);
  });

  it('a search chunk refused because the size moved leaves no rows behind, nor does the one handed over behind it', async (t) => {
    const { url, store, project } = await storeWithProject(t);
    await store.append([{ projectId: project.id, fromSize: 0, entries: Array.from({ length: 6 }, (_, i) => ({ eventId: `e${i}`, envelope: Buffer.from(`{"n":${i}}`) })), tiles: [] }]);
    const doc = (index: number) => ({ index, time: 1000 + index, eventName: 'x', eventSource: null, sourceIp: null, actors: [`a${index}`], outcome: null, text: `word${index}` });
    assert.equal(await store.indexForSearch(project.id, 0, [doc(0), doc(1)]), true);
    // From 3 (the size is 2), and from 5 behind it: both refused.
    assert.deepEqual(await Promise.all([store.indexForSearch(project.id, 3, [doc(3), doc(4)]), store.indexForSearch(project.id, 5, [doc(5)])]), [false, false]);
    await withClient(url, async (admin) => {
      const rows = async (table: string) => (await admin.query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${table} WHERE idx >= 2`)).rows[0]!.n;
      assert.deepEqual([await rows('search_events'), await rows('search_actors')], [0, 0]);
    });
  });

  it('nodes starting together on an empty database migrate it once', async (t) => {
    const url = await freshDatabase(t);
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open({ url })));
    t.after(() => Promise.all(stores.map((s) => s.close())));
    const { rows } = await withClient(url, (admin) => admin.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version'));
    assert.deepEqual(
      rows.map((r) => r.version),
      POSTGRES_MIGRATIONS.map((m) => m.version),
    );
    await stores[0]!.createProject(testProject());
    assert.equal((await stores[3]!.listProjects()).length, 1);
  });

  it('read-only stores refuse an unmigrated database and never write', async (t) => {
    const url = await freshDatabase(t);
    await assert.rejects(PgStore.open({ url, readOnly: true }), /needs migrations/);
    await (await PgStore.open({ url })).close();
    const reader = await PgStore.open({ url, readOnly: true });
    t.after(() => reader.close());
    assert.deepEqual(await reader.listProjects(), []);
    await assert.rejects(reader.createProject(testProject()), /read-only transaction/);
  });

  it('never puts the password of the URL in an error message', async () => {
    const cluster = await postgresCluster();
    const port = new URL(cluster.adminUrl).port;
    const error = await PgStore.open({ url: `postgres://nobody:s3cret-pw@127.0.0.1:${port}/missing` }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(error, 'opening a database that does not exist fails');
    assert.match(error.message, /couldn't open the PostgreSQL store at 127\.0\.0\.1:\d+\/missing/);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  it('the sequencer lock reads the right-edge tiles TreeEdge.tilesFor lists, at sizes on and around every tile boundary', async (t) => {
    const { url, store, project } = await storeWithProject(t);
    const sizes = [0, 1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 65_792, 16_777_215, 16_777_216, 16_777_217, 2 ** 32 + 7, 2 ** 40, 2 ** 48 + 2 ** 40 + 3, 2 ** 53 - 1];
    await withClient(url, async (admin) => {
      for (const size of sizes) {
        // The size, set directly, and a tile (whose bytes name it) at every level and index near
        // the ones the size needs, so that a tile taken wrongly would be there to be taken.
        await admin.query('UPDATE projects SET tree_size = $1 WHERE id = $2', [size, project.id]);
        await admin.query('DELETE FROM tiles');
        for (let level = 0; level <= 6; level++) {
          const index = Math.floor(size / 256 ** (level + 1));
          for (const i of [index - 1, index, index + 1].filter((i) => i >= 0))
            await admin.query('INSERT INTO tiles (project_pk, level, idx, hashes) SELECT pk, $1, $2, $3 FROM projects WHERE id = $4', [level, i, Buffer.from(`${level}/${i}`), project.id]);
        }
        const lock = await store.lockLogs([project.id]);
        await lock.release();
        const read = [...lock.edgeTiles!.get(project.id)!];
        const expected = TreeEdge.tilesFor(size).map((ref) => `${ref.level}/${ref.index}`);
        assert.deepEqual(read.map(([key]) => key).sort(), [...expected].sort(), `size ${size}`);
        for (const [key, hashes] of read) assert.equal(hashes.toString(), key);
        // A caller that knows the edge at this size is brought none; at another size, the same tiles.
        for (const [known, count] of [[size, 0], [size + 1, expected.length]] as const) {
          const hinted = await store.lockLogs([project.id], new Map([[project.id, known]]));
          await hinted.release();
          assert.equal(hinted.edgeTiles!.get(project.id)!.size, count, `size ${size}, known ${known}`);
        }
      }
    });
  });

  it('an append through a lock whose session PostgreSQL ended is refused as unavailable (a 503), and writes nothing', async (t) => {
    const { url, store, project } = await storeWithProject(t);
    for (const settle of [0, 300]) {
      // Terminated between taking the lock and appending; with `settle`, the node has also
      // heard of it before it appends (pg then refuses the query itself).
      const lock = await store.lockLogs([project.id]);
      const ended = await withClient(url, async (admin) =>
        (await admin.query<{ n: number }>("SELECT count(pg_terminate_backend(pid))::integer AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")).rows[0]!.n,
      );
      assert.equal(ended, 1, 'the lock session was ended');
      await new Promise((resolve) => setTimeout(resolve, settle));
      await assert.rejects(lock.append([entryAt(project.id, 0, `e${settle}`)]), StoreUnavailableError);
      assert.equal(await store.treeSize(project.id), 0);
    }
    // The next lock opens a new session.
    await (await store.lockLogs([project.id])).append([entryAt(project.id, 0, 'after')]);
    assert.equal(await store.treeSize(project.id), 1);
  });

  it('an append refused after a clean rollback keeps its pooled connection', async (t) => {
    const { url, store, project } = await storeWithProject(t, { poolSize: 1 });
    // The store's sessions, by backend pid (the sequencer lock's session is never opened here).
    const sessions = () =>
      withClient(url, async (admin) =>
        (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'veritrail %' ORDER BY pid")).rows.map((r) => r.pid),
      );
    await store.append([entryAt(project.id, 0, 'first')]);
    const before = await sessions();
    assert.equal(before.length, 1);

    await assert.rejects(store.append([entryAt(project.id, 0, 'stale')]), TreeSizeMismatchError);
    await assert.rejects(store.append([entryAt(project.id, 1, 'first')]), DuplicateEventIdError);
    assert.equal(await store.treeSize(project.id), 1);
    assert.deepEqual(await sessions(), before, 'the same session served every call: none was discarded');
  });
});
