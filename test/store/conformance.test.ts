/**
 * The store contract (src/store/store.ts), once, over every engine in ENGINES.
 */
import { describe, it, beforeEach, afterEach, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENGINES, initStore, testProject, type EngineName, type TestStore, appendLeaves } from '../helpers/stores.ts';
import { AlreadyExistsError, DuplicateEventIdError, TreeSizeMismatchError, VersionMismatchError, type LogAppend, type SearchDocument, type SearchQuery, type Store } from '../../src/store/store.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import { newApiKey } from '../../src/auth/api-keys.ts';
import { SecretBox } from '../../src/core/secret-box.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import { SQLITE_INDEX_FILE, SQLITE_SEARCH_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { waitUntil } from '../helpers/wait.ts';

function envelope(projectId: string, eventId: string, n: number): Buffer {
  return Buffer.from(envelopeText(`{"n":${n}}`, eventId, projectId, '2026-01-01T00:00:00.000Z'));
}

/** An engine feature a test cannot exercise, said explicitly rather than with a silent `if`. */
const NOT_SUPPORTED = 'not supported' as const;

/** Engine-specific expectations, keyed by engine (STYLE.md §10). */
const LOSES_DERIVED_INDEX_FILE: Record<EngineName, ((handle: TestStore) => void) | typeof NOT_SUPPORTED> = {
  sqlite: (handle) => {
    for (const file of [SQLITE_INDEX_FILE, SQLITE_SEARCH_FILE]) for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(handle.dataDir, file + suffix), { force: true });
  },
  postgres: NOT_SUPPORTED, // no derived data: the event-id index is in the database itself
};

/** A second store on the same database, as a second node would open it. */
const SECOND_STORE: Record<EngineName, ((handle: TestStore) => Promise<Store>) | typeof NOT_SUPPORTED> = {
  sqlite: NOT_SUPPORTED, // one process per data directory (the lock file)
  postgres: (handle) => PgStore.open({ url: handle.url! }),
};

function oneEntry(projectId: string, fromSize: number, eventId: string): LogAppend {
  return { projectId, fromSize, entries: [{ eventId, envelope: envelope(projectId, eventId, fromSize) }], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(32 * (fromSize + 1), fromSize) }] };
}

/** Resolves to true if `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([promise.then(() => true, () => true), timeout]);
  clearTimeout(timer);
  return settled;
}

for (const engine of ENGINES) {
  describe(`${engine}: store conformance`, () => {
    let handle: TestStore;
    beforeEach(async () => {
      handle = await initStore(engine);
    });
    afterEach(() => handle.destroy());

    /** A second store on this test's database, closed after the test; skips the test where none can open. */
    async function secondStore(t: TestContext): Promise<Store | undefined> {
      const open = SECOND_STORE[engine];
      if (open === NOT_SUPPORTED) {
        t.skip('one process per store');
        return undefined;
      }
      const other = await open(handle);
      t.after(() => other.close());
      return other;
    }

    it('creates, reads and lists projects; a used id is AlreadyExistsError', async () => {
      const { store } = handle;
      const a = testProject({ name: 'a' });
      const b = testProject({ name: 'b', system: true });
      await store.createProject(a);
      await store.createProject(b);
      assert.deepEqual(await store.getProject(a.id), a);
      assert.deepEqual(await store.listProjects(), [a, b]);
      assert.deepEqual(await store.listProjects({ limit: 1 }), [a], 'the first, in creation order');
      assert.equal(await store.getProject('0'.repeat(24)), undefined);
      await assert.rejects(store.createProject({ ...a, name: 'again' }), AlreadyExistsError);
      assert.equal(await store.treeSize(a.id), 0);
    });

    it('keys: found by secret hash until revoked; listed per project; never the secret', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const org = newApiKey('ORG_OWNER', null, 'org', Date.now());
      const writer = newApiKey('PROJECT_WRITER', project.id, 'w', Date.now());
      await store.createKey(org.record);
      await store.createKey(writer.record);
      assert.deepEqual(await store.findKeyBySecretHash(writer.record.secretHash), writer.record);
      assert.deepEqual((await store.listKeys(null)).map((k) => k.id), [org.record.id]);
      assert.deepEqual((await store.listKeys(project.id)).map((k) => k.id), [writer.record.id]);
      await store.touchKey(writer.record.id, '2026-02-02T00:00:00.000Z');
      assert.equal((await store.findKeyBySecretHash(writer.record.secretHash))?.lastUsedAt, '2026-02-02T00:00:00.000Z');
      assert.equal(await store.revokeKey(null, writer.record.id), false, 'a project key is not revoked through the org scope');
      assert.equal(await store.revokeKey(project.id, writer.record.id), true);
      assert.equal(await store.revokeKey(project.id, writer.record.id), false);
      assert.equal(await store.findKeyBySecretHash(writer.record.secretHash), undefined);
      assert.deepEqual(await store.listKeys(project.id), []);
      await assert.rejects(store.createKey(org.record), AlreadyExistsError);
    });

    it('keys: findKeyById sees live keys only, and keeps a key type and sealed Digest HA1 as given', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const native = newApiKey('PROJECT_WRITER', project.id, 'n', Date.now());
      const atlas = newApiKey('PROJECT_OWNER', project.id, 'a', Date.now(), { type: 'atlas', secretBox: new SecretBox(Buffer.alloc(32, 7)) });
      const account = newApiKey('ORG_OWNER', null, 's', Date.now(), { type: 'service-account' });
      for (const key of [native, atlas, account]) await store.createKey(key.record);
      assert.deepEqual(await store.findKeyById(native.record.id), native.record, 'a native key has no type field');
      assert.deepEqual(await store.findKeyById(atlas.record.id), atlas.record);
      assert.equal((await store.findKeyById(atlas.record.id))?.digestHa1Sealed, atlas.record.digestHa1Sealed);
      assert.deepEqual(await store.findKeyById(account.record.id), account.record);
      assert.deepEqual(await store.findKeyBySecretHash(atlas.record.secretHash), atlas.record);
      // Both keys share a creation millisecond, so their order is by random id: compare as a set.
      assert.deepEqual((await store.listKeys(project.id)).map((k) => k.type ?? 'native').sort(), ['atlas', 'native']);
      assert.equal(await store.findKeyById('0'.repeat(24)), undefined);
      await store.revokeKey(project.id, atlas.record.id);
      assert.equal(await store.findKeyById(atlas.record.id), undefined, 'revoked: gone at once');
    });

    it('append is all or nothing across logs, and refuses a stale fromSize with TreeSizeMismatchError', async () => {
      const { store } = handle;
      const a = testProject();
      const b = testProject();
      await store.createProject(a);
      await store.createProject(b);
      await appendLeaves(store, a.id, [leafHash(Buffer.from('x'))]);
      const good = { projectId: b.id, fromSize: 0, entries: [{ eventId: 'b0', envelope: envelope(b.id, 'b0', 0) }], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(32, 1) }] };
      const stale = { projectId: a.id, fromSize: 0, entries: [{ eventId: 'a1', envelope: envelope(a.id, 'a1', 1) }], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(64, 2) }] };
      await assert.rejects(store.append([good, stale]), (error: unknown) => error instanceof TreeSizeMismatchError && error.expected === 0 && error.actual === 1);
      assert.equal(await store.treeSize(b.id), 0, 'the other log in the same call was not written');
      assert.deepEqual(await store.readEntries(b.id, 0, 10), []);
      assert.deepEqual(await store.readTiles(b.id, [{ level: 0, index: 0 }]), [undefined]);
      assert.equal((await store.findByEventIds(b.id, ['b0'])).size, 0);
      await store.append([good]);
      assert.equal(await store.treeSize(b.id), 1);
      // Both logs in one call, each from its own size: both move.
      const nextA = { ...stale, fromSize: 1 };
      const nextB = { projectId: b.id, fromSize: 1, entries: [{ eventId: 'b1', envelope: envelope(b.id, 'b1', 1) }, { eventId: 'b2', envelope: envelope(b.id, 'b2', 2) }], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(96, 3) }] };
      await store.append([nextB, nextA]);
      assert.deepEqual([await store.treeSize(a.id), await store.treeSize(b.id)], [2, 3]);
      // Each log got its own entries' bytes and its own tiles (one statement carries both logs).
      assert.deepEqual(
        (await store.readEntries(b.id, 0, 10)).map((e) => [e.index, e.envelope.toString()]),
        [good.entries[0]!, ...nextB.entries].map((entry, i) => [i, entry.envelope.toString()]),
      );
      assert.deepEqual(
        (await store.readEntries(a.id, 1, 10)).map((e) => [e.index, e.envelope.toString()]),
        [[1, nextA.entries[0]!.envelope.toString()]],
      );
      assert.deepEqual(await store.readTiles(b.id, [{ level: 0, index: 0 }]), [nextB.tiles[0]!.hashes]);
      assert.deepEqual(await store.readTiles(a.id, [{ level: 0, index: 0 }]), [nextA.tiles[0]!.hashes]);
    });

    it('an append of 40,000 entries of varied sizes is all or nothing, and keeps each entry\'s bytes', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const count = 40_000;
      // Sizes vary (the digits of i, and a multi-byte character on every third entry).
      const entries = Array.from({ length: count }, (_, i) => `big-${i}${i % 3 === 0 ? '-\u00e9' : ''}`).map((eventId, i) => ({ eventId, envelope: envelope(project.id, eventId, i) }));
      const tiles = [{ level: 0, index: 0, hashes: Buffer.alloc(32 * 256, 7) }];
      // The last entry repeats the first id: refused, and none of the 40,000 is written.
      const refused = [...entries, { eventId: entries[0]!.eventId, envelope: envelope(project.id, entries[0]!.eventId, count) }];
      await assert.rejects(store.append([{ projectId: project.id, fromSize: 0, entries: refused, tiles }]), DuplicateEventIdError);
      assert.equal(await store.treeSize(project.id), 0);
      assert.deepEqual(await store.readEntries(project.id, 0, 10), []);
      await store.append([{ projectId: project.id, fromSize: 0, entries, tiles }]);
      assert.equal(await store.treeSize(project.id), count);
      const stored = await store.readEntries(project.id, 0, count);
      assert.equal(stored.length, count);
      assert.deepEqual(
        stored.filter((e, i) => e.index !== i || !e.envelope.equals(entries[i]!.envelope)).map((e) => e.index),
        [],
        'entries stored at another index or with other bytes',
      );
      assert.deepEqual(await store.readTiles(project.id, [{ level: 0, index: 0 }]), [tiles[0]!.hashes]);
    });

    it('append refuses an event id the log already holds, or one given twice, with DuplicateEventIdError', async () => {
      const { store } = handle;
      const a = testProject();
      const b = testProject();
      await store.createProject(a);
      await store.createProject(b);
      // Looked up as absent, then appended: a later append of it must still be refused.
      assert.equal((await store.findByEventIds(a.id, ['same'])).size, 0);
      await store.append([oneEntry(a.id, 0, 'same')]);
      await assert.rejects(store.append([oneEntry(b.id, 0, 'other'), oneEntry(a.id, 1, 'same')]), (error: unknown) => error instanceof DuplicateEventIdError && error.projectId === a.id);
      assert.equal(await store.treeSize(a.id), 1);
      assert.equal(await store.treeSize(b.id), 0, 'the other log in the same call was not written');
      assert.deepEqual(await store.readTiles(a.id, [{ level: 0, index: 0 }]), [Buffer.alloc(32, 0)], 'no tile was written');
      const twice = oneEntry(a.id, 1, 'twice');
      twice.entries.push({ eventId: 'twice', envelope: envelope(a.id, 'twice', 2) });
      await assert.rejects(store.append([twice]), DuplicateEventIdError);
      assert.equal(await store.treeSize(a.id), 1);
      // The same id in another project is another event.
      await store.append([oneEntry(b.id, 0, 'same')]);
      assert.equal((await store.findByEventIds(b.id, ['same'])).get('same')?.index, 0);
    });

    it('lockLogs: one holder per log at a time, across stores on one database', async (t) => {
      const { store } = handle;
      const p = testProject();
      const q = testProject();
      await store.createProject(p);
      await store.createProject(q);
      const held = await store.lockLogs([p.id]);
      const open = SECOND_STORE[engine];
      if (open === NOT_SUPPORTED) {
        assert.equal(store.capabilities.concurrentWriters, false, 'an engine that takes concurrent writers must let a second store in');
        await held.release();
        await (await store.lockLogs([p.id, q.id])).release();
        return;
      }
      assert.equal(store.capabilities.concurrentWriters, true);
      const other = await open(handle);
      t.after(() => other.close());
      await (await other.lockLogs([q.id])).release(); // another log is free
      const waiting = other.lockLogs([q.id, p.id]);
      assert.equal(await settlesWithin(waiting, 300), false, 'the second store waits while the first holds the log');
      // The holder appends before it lets go: the waiter's sizes, read under the lock, see it.
      await store.append([oneEntry(p.id, 0, 'held')]);
      await held.release();
      assert.equal(await settlesWithin(waiting, 10_000), true, 'and gets it once released');
      const lock = await waiting;
      // Sizes are optional in the contract; an engine that reads them must read them under the lock.
      if (lock.sizes) assert.deepEqual([...lock.sizes].sort(), [[p.id, 1], [q.id, 0]].sort());
      await lock.release();
    });

    it('LogLock.append: appends as append does, and refuses alike with nothing written', async () => {
      const { store } = handle;
      const p = testProject();
      await store.createProject(p);
      const appended = await store.lockLogs([p.id]);
      await appended.append([oneEntry(p.id, 0, 'first')]);
      await appended.release(); // nothing left to end
      assert.equal(await store.treeSize(p.id), 1);
      assert.equal((await store.findByEventIds(p.id, ['first'])).get('first')?.index, 0);
      const stale = await store.lockLogs([p.id]);
      await assert.rejects(stale.append([oneEntry(p.id, 0, 'stale')]), TreeSizeMismatchError);
      const again = await store.lockLogs([p.id]);
      await assert.rejects(again.append([oneEntry(p.id, 1, 'first')]), DuplicateEventIdError);
      assert.equal(await store.treeSize(p.id), 1);
      assert.deepEqual((await store.readEntries(p.id, 0, 5)).map((e) => e.index), [0]);
    });

    it('LogLock.append ends the hold, refused or not: a store waiting for the log gets it with no release', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      const { store } = handle;
      const p = testProject();
      await store.createProject(p);
      await store.append([oneEntry(p.id, 0, 'first')]);
      for (const [i, refused] of [false, true].entries()) {
        const held = await store.lockLogs([p.id]);
        const waiting = other.lockLogs([p.id]);
        assert.equal(await settlesWithin(waiting, 300), false, 'the second store waits while the first holds the log');
        const append = held.append([oneEntry(p.id, refused ? 0 : 1 + i, `held-${i}`)]);
        if (refused) await assert.rejects(append, TreeSizeMismatchError);
        else await append;
        // Well inside the lease (10 s), after which PostgreSQL would end a forgotten hold anyway.
        assert.equal(await settlesWithin(waiting, 2_000), true, 'the append ended the hold');
        const lock = await waiting;
        assert.deepEqual([...lock.sizes!], [[p.id, 2]]);
        await lock.release();
      }
    });

    it('appends from two stores at one size: exactly one wins, and an id stored by one is refused to the other', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      const { store } = handle;
      const p = testProject();
      await store.createProject(p);
      for (let round = 0; round < 10; round++) {
        const size = await store.treeSize(p.id);
        const results: Array<PromiseSettledResult<void>> = await Promise.allSettled([store.append([oneEntry(p.id, size, `a${round}`)]), other.append([oneEntry(p.id, size, `b${round}`)])]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
        assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof TreeSizeMismatchError && r.reason.actual === size + 1));
      }
      assert.equal(await other.treeSize(p.id), 10);
      const won = (await store.readEntries(p.id, 9, 10))[0]!;
      const id = JSON.parse(won.envelope.toString()).eventId as string;
      await assert.rejects(other.append([oneEntry(p.id, 10, id)]), DuplicateEventIdError);
      assert.deepEqual((await other.readEntries(p.id, 0, 20)).map((e) => e.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('across stores on one database: a revoked key fails at once, and compare-and-set has one winner', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const key = newApiKey('PROJECT_WRITER', project.id, 'w', Date.now());
      await store.createKey(key.record);
      assert.equal((await other.findKeyBySecretHash(key.record.secretHash))?.id, key.record.id);
      assert.equal(await store.revokeKey(project.id, key.record.id), true);
      assert.equal(await other.findKeyBySecretHash(key.record.secretHash), undefined, 'no cache: the other store sees the revocation');
      for (let round = 0; round < 5; round++) {
        const race: Array<PromiseSettledResult<unknown>> = await Promise.allSettled([store.putSetting(project.id, 'audit', { by: 'a' }, { ifVersion: round }), other.putSetting(project.id, 'audit', { by: 'b' }, { ifVersion: round })]);
        assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
        assert.ok(race.some((r) => r.status === 'rejected' && r.reason instanceof VersionMismatchError && r.reason.current === round + 1));
      }
      // Unconditional writes from both stores at once all land, each as its own version.
      await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? store : other).putSetting(project.id, 'audit', { n: i })));
      assert.deepEqual((await other.settingHistory(project.id, 'audit')).map((r) => r.version), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    });

    it('reads entries in order, skipping missing rows rather than inventing them', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const envelopes = Array.from({ length: 10 }, (_, i) => envelope(project.id, `e${i}`, i));
      await appendLeaves(store, project.id, envelopes.map(leafHash), envelopes);
      const entries = await store.readEntries(project.id, 3, 7);
      assert.deepEqual(entries.map((e) => e.index), [3, 4, 5, 6]);
      assert.deepEqual(entries[0]!.envelope, envelopes[3]);
      assert.deepEqual(await store.readEntries(project.id, 10, 20), []);
    });

    it('hashes stored entries as RFC 6962 leaves, in index order, up to the end of the log', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      // Sizes around the tile width and a non-ASCII byte: the hash is of the bytes as stored.
      const envelopes = Array.from({ length: 300 }, (_, i) => envelope(project.id, `e${i}-\u00e9`, i));
      await appendLeaves(store, project.id, envelopes.map(leafHash), envelopes);
      const hashed = await store.hashEntries(project.id, 0, 300);
      assert.deepEqual(hashed.map((e) => e.index), Array.from({ length: 300 }, (_, i) => i));
      hashed.forEach((e, i) => assert.ok(e.leafHash?.equals(leafHash(envelopes[i]!)), `leaf ${i}`));
      assert.deepEqual((await store.hashEntries(project.id, 297, 310)).map((e) => e.index), [297, 298, 299]);
      assert.deepEqual(await store.hashEntries(project.id, 300, 310), []);
    });

    it('finds entries by event id, after a reopen, and after the derived index is lost', async () => {
      const project = testProject();
      await handle.store.createProject(project);
      const ids = ['alpha', 'beta', 'gamma'];
      const envelopes = ids.map((id, i) => envelope(project.id, id, i));
      await handle.store.append([{ projectId: project.id, fromSize: 0, entries: ids.map((eventId, i) => ({ eventId, envelope: envelopes[i]! })), tiles: [] }]);
      const check = async () => {
        const found = await handle.store.findByEventIds(project.id, ['beta', 'delta', 'alpha']);
        assert.deepEqual([...found.keys()].sort(), ['alpha', 'beta']);
        assert.equal(found.get('beta')!.index, 1);
        assert.deepEqual(found.get('beta')!.envelope, envelopes[1]);
      };
      await check();
      await handle.reopen();
      await check();
      const lose = LOSES_DERIVED_INDEX_FILE[engine];
      if (lose !== NOT_SUPPORTED) {
        await handle.store.close();
        lose(handle);
        await handle.reopen();
        await check();
      }
    });

    it('tiles are replaced whole and read back in the order asked', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      await store.append([{ projectId: project.id, fromSize: 0, entries: [], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(32, 1) }] }]);
      await store.append([{ projectId: project.id, fromSize: 0, entries: [], tiles: [{ level: 0, index: 0, hashes: Buffer.alloc(64, 2) }, { level: 1, index: 3, hashes: Buffer.alloc(32, 3) }] }]);
      const tiles = await store.readTiles(project.id, [{ level: 1, index: 3 }, { level: 0, index: 0 }, { level: 0, index: 1 }]);
      assert.deepEqual(tiles, [Buffer.alloc(32, 3), Buffer.alloc(64, 2), undefined]);
    });

    it('checkpoints only grow; the latest and any signed size can be read', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const cp = (treeSize: number) => ({ projectId: project.id, treeSize, rootHash: Buffer.alloc(32, treeSize), note: `note ${treeSize}\n`, createdAt: '2026-01-01T00:00:00.000Z' });
      assert.equal(await store.latestCheckpoint(project.id), undefined);
      assert.equal(await store.putCheckpoint(cp(0)), true);
      assert.equal(await store.putCheckpoint(cp(5)), true);
      assert.equal(await store.putCheckpoint(cp(5)), false);
      assert.equal(await store.putCheckpoint(cp(3)), false);
      assert.deepEqual(await store.latestCheckpoint(project.id), cp(5));
      assert.deepEqual(await store.checkpointAt(project.id, 0), cp(0));
      assert.equal(await store.checkpointAt(project.id, 3), undefined);
    });

    it('settings are versioned, keep their history, and compare-and-set exactly once under a race', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      assert.equal(await store.getSetting(project.id, 'audit'), undefined);
      await assert.rejects(store.putSetting(project.id, 'audit', { enabled: true }, { ifVersion: 1 }), VersionMismatchError);
      const first = await store.putSetting(project.id, 'audit', { enabled: true }, { ifVersion: 0 });
      assert.equal(first.version, 1);
      const second = await store.putSetting(project.id, 'audit', { enabled: false });
      assert.equal(second.version, 2);
      assert.deepEqual((await store.getSetting(project.id, 'audit'))?.value, { enabled: false });
      assert.deepEqual((await store.settingHistory(project.id, 'audit')).map((s) => [s.version, s.value]), [
        [1, { enabled: true }],
        [2, { enabled: false }],
      ]);
      const race = await Promise.allSettled([store.putSetting(project.id, 'audit', { n: 1 }, { ifVersion: 2 }), store.putSetting(project.id, 'audit', { n: 2 }, { ifVersion: 2 })]);
      assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
      assert.ok(race.some((r) => r.status === 'rejected' && r.reason instanceof VersionMismatchError));
    });

    it('lists the latest version of each setting under a literal name prefix', async () => {
      const { store } = handle;
      const project = testProject();
      const other = testProject();
      await store.createProject(project);
      await store.createProject(other);
      await store.putSetting(project.id, 'destination/b', { v: 1 });
      await store.putSetting(project.id, 'destination/a', { v: 1 });
      await store.putSetting(project.id, 'destination/b', { v: 2 });
      await store.putSetting(project.id, 'destinationX', { v: 1 });
      await store.putSetting(project.id, 'audit', { v: 1 });
      await store.putSetting(other.id, 'destination/c', { v: 1 });
      const listed = await store.listSettings<{ v: number }>(project.id, 'destination/');
      assert.deepEqual(listed.map((s) => [s.name, s.version, s.value.v]), [
        ['destination/a', 1, 1],
        ['destination/b', 2, 2],
      ]);
      assert.deepEqual(await store.listSettings(project.id, 'nothing'), []);
      await store.putSetting(project.id, 'a%b', { v: 1 });
      assert.deepEqual((await store.listSettings(project.id, 'a%')).map((s) => s.name), ['a%b'], 'pattern characters match literally');
      assert.deepEqual(await store.listSettings(project.id, '_'), []);
    });

    it('forwarding cursors: absent until set, replaced (even backwards), kept per destination and across a reopen', async () => {
      const project = testProject();
      await handle.store.createProject(project);
      assert.equal(await handle.store.getCursor(project.id, 'd1'), undefined);
      await handle.store.setCursor(project.id, 'd1', 10, '2026-01-01T00:00:00.000Z');
      await handle.store.setCursor(project.id, 'd2', 3, '2026-01-01T00:00:01.000Z');
      await handle.store.setCursor(project.id, 'd1', 25, '2026-01-01T00:00:02.000Z');
      assert.deepEqual(await handle.store.getCursor(project.id, 'd1'), { projectId: project.id, destinationId: 'd1', nextIndex: 25, updatedAt: '2026-01-01T00:00:02.000Z' });
      await handle.store.setCursor(project.id, 'd2', 1, '2026-01-01T00:00:03.000Z', '{"state":"error"}');
      await handle.reopen();
      assert.equal((await handle.store.getCursor(project.id, 'd1'))?.nextIndex, 25);
      assert.deepEqual(await handle.store.getCursor(project.id, 'd2'), { projectId: project.id, destinationId: 'd2', nextIndex: 1, updatedAt: '2026-01-01T00:00:03.000Z', status: '{"state":"error"}' }, 'a status is kept as given');
      await handle.store.setCursor(project.id, 'd2', 2, '2026-01-01T00:00:04.000Z');
      assert.equal((await handle.store.getCursor(project.id, 'd2'))?.status, undefined, 'and replaced with the cursor');
    });

    it('leases: one holder at a time, renewed by its holder, free once dropped or expired', async () => {
      const { store } = handle;
      assert.equal(await store.takeLease('forward/p/d', 'node-a', 60_000), true);
      assert.equal(await store.takeLease('forward/p/d', 'node-b', 60_000), false, 'held by another');
      assert.equal(await store.takeLease('forward/p/d', 'node-a', 60_000), true, 'renewed by its holder');
      assert.equal(await store.takeLease('forward/p/other', 'node-b', 60_000), true, 'another name is another lease');
      await store.dropLease('forward/p/d', 'node-b'); // not node-b's: no effect
      assert.equal(await store.takeLease('forward/p/d', 'node-b', 60_000), false);
      await store.dropLease('forward/p/d', 'node-a');
      assert.equal(await store.takeLease('forward/p/d', 'node-b', 1), true, 'free once dropped');
      // node-b's lease of 1 ms runs out: node-a gets it (waited for, not timed).
      assert.equal(await waitUntil(() => store.takeLease('forward/p/d', 'node-a', 60_000), "node-b's lease to run out"), true);
      assert.equal(await store.takeLease('forward/p/d', 'node-b', 60_000), false);
    });

    it('leases: of holders racing from two stores on one database, one wins', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      for (let round = 0; round < 10; round++) {
        const won: boolean[] = await Promise.all([handle.store.takeLease(`race/${round}`, 'a', 60_000), other.takeLease(`race/${round}`, 'b', 60_000)]);
        assert.equal(won.filter(Boolean).length, 1, `round ${round}`);
      }
    });

    it('Digest nonce uses: each count above the last is recorded once; a replay or a smaller one is not; expired nonces are forgotten', async () => {
      const { store } = handle;
      assert.equal(await store.recordDigestNonceUse('n1', 1, 1000, 900), true);
      assert.equal(await store.recordDigestNonceUse('n1', 1, 1000, 900), false, 'a replay');
      assert.equal(await store.recordDigestNonceUse('n1', 5, 1000, 900), true, 'a gap is fine');
      assert.equal(await store.recordDigestNonceUse('n1', 4, 1000, 900), false, 'a smaller count');
      assert.equal(await store.recordDigestNonceUse('n2', 1, 1200, 900), true, 'each nonce has its own count');
      // Once n1 is expired (issued before 1100), it is forgotten.
      assert.equal(await store.recordDigestNonceUse('n2', 2, 1200, 1100), true);
      assert.equal(await store.recordDigestNonceUse('n1', 1, 1000, 900), true, 'forgotten');
    });

    it('Digest nonce uses: a use through one store is seen by another on the same database', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      assert.equal(await handle.store.recordDigestNonceUse('shared', 3, 1000, 900), true);
      assert.equal(await other.recordDigestNonceUse('shared', 3, 1000, 900), false);
      assert.equal(await other.recordDigestNonceUse('shared', 4, 1000, 900), true);
    });

    it('revoked access tokens: listed until they expire, durable, and bounded', async () => {
      const { store } = handle;
      const bound = { nowSec: 1000, max: 2 };
      assert.equal(await store.isAccessTokenRevoked('t1'), false);
      assert.deepEqual(await store.revokeAccessToken('t1', 5000, bound), { listed: true });
      assert.deepEqual(await store.revokeAccessToken('t1', 5000, bound), { listed: true }, 'twice is one entry');
      assert.deepEqual(await store.revokeAccessToken('t2', 3000, bound), { listed: true });
      assert.deepEqual(await store.revokeAccessToken('t3', 9000, bound), { listed: false, firstExpirySec: 3000 }, 'full: nothing written');
      assert.equal(await store.isAccessTokenRevoked('t3'), false);
      const reopened = await handle.reopen();
      assert.equal(await reopened.isAccessTokenRevoked('t1'), true, 'a restart keeps the list');
      assert.equal(await reopened.isAccessTokenRevoked('t2'), true);
      // t2 expires at 3000: by then it is dropped, which makes room for t3.
      assert.deepEqual(await reopened.revokeAccessToken('t3', 9000, { nowSec: 3000, max: 2 }), { listed: true });
      assert.equal(await reopened.isAccessTokenRevoked('t2'), false, 'expired entries are dropped');
      assert.equal(await reopened.isAccessTokenRevoked('t3'), true);
    });

    it('revoked access tokens: a revocation through one store is seen by another on the same database at once', async (t) => {
      const other = await secondStore(t);
      if (!other) return;
      assert.equal(await other.isAccessTokenRevoked('shared'), false);
      await handle.store.revokeAccessToken('shared', 5000, { nowSec: 1000, max: 10 });
      assert.equal(await other.isAccessTokenRevoked('shared'), true);
    });

    it('answers ping until closed', async () => {
      await handle.store.ping();
      await handle.store.close();
      await assert.rejects(handle.store.ping());
      await handle.reopen();
    });
  });
}

/** A search document with defaults; time = index seconds unless given. */
function searchDoc(index: number, fields: Partial<SearchDocument> = {}): SearchDocument {
  return { index, time: 1_000_000 + index * 1000, eventName: null, eventSource: null, sourceIp: null, actors: [], outcome: null, text: '', ...fields };
}

for (const engine of ENGINES) {
  describe(`${engine}: search conformance`, () => {
    let handle: TestStore;
    let projectId: string;
    beforeEach(async () => {
      handle = await initStore(engine);
      projectId = testProject().id;
    });
    afterEach(() => handle.destroy());

    /** A project whose log holds `docs.length` entries, indexed with these documents. */
    async function indexed(docs: SearchDocument[], id = projectId): Promise<void> {
      const { store } = handle;
      if (!(await store.getProject(id))) await store.createProject(testProject({ id }));
      const envelopes = docs.map((d) => envelope(id, `e${d.index}`, d.index));
      await appendLeaves(store, id, envelopes.map(leafHash), envelopes);
      assert.equal(await store.indexForSearch(id, 0, docs), true);
    }
    const search = async (query: Partial<SearchQuery>, id = projectId) =>
      (await handle.store.searchEntries(id, { below: await handle.store.searchIndexSize(id), order: 'desc', limit: 100, ...query })).map((hit) => hit.index);

    it('indexForSearch is conditional on the search index size, and all or nothing', async () => {
      const { store } = handle;
      await store.createProject(testProject({ id: projectId }));
      const envelopes = [0, 1, 2].map((i) => envelope(projectId, `e${i}`, i));
      await appendLeaves(store, projectId, envelopes.map(leafHash), envelopes);
      assert.equal(await store.searchIndexSize(projectId), 0);
      assert.equal(await store.indexForSearch(projectId, 1, [searchDoc(1)]), false, 'not at the size');
      assert.equal(await store.searchIndexSize(projectId), 0);
      assert.deepEqual(await search({}), []);
      assert.equal(await store.indexForSearch(projectId, 0, [searchDoc(0, { eventName: 'A' }), searchDoc(1, { eventName: 'B' })]), true);
      assert.equal(await store.indexForSearch(projectId, 0, [searchDoc(0)]), false, 'a second indexer that lost the race writes nothing');
      assert.equal(await store.searchIndexSize(projectId), 2);
      assert.deepEqual(await search({}), [1, 0]);
      assert.deepEqual(await search({ eventName: 'A' }), [0]);
      const [hit] = await store.searchEntries(projectId, { below: 2, order: 'asc', limit: 1 });
      assert.deepEqual(hit, { index: 0, time: 1_000_000, envelope: envelopes[0] });
    });

    it('indexForSearch: chunks handed over together land in order; those behind a refused one are refused too', async () => {
      const { store } = handle;
      await store.createProject(testProject({ id: projectId }));
      const count = 3010;
      const envelopes = Array.from({ length: count }, (_, i) => envelope(projectId, `e${i}`, i));
      await appendLeaves(store, projectId, envelopes.map(leafHash), envelopes);
      const text = (i: number) => `word${i} ${'filler '.repeat(i % 50)}${Array.from({ length: 40 }, (_, j) => `w${i}x${j}`).join(' ')}`;
      const docs = envelopes.map((_, i) => searchDoc(i, { text: text(i), actors: [`a${i}`] }));
      // A long chunk and a short one behind it: the short one must wait for the long one.
      const chunks = [store.indexForSearch(projectId, 0, docs.slice(0, 3000)), store.indexForSearch(projectId, 3000, docs.slice(3000, 3001)), store.indexForSearch(projectId, 3001, docs.slice(3001, 3002))];
      assert.deepEqual(await Promise.all(chunks), [true, true, true]);
      assert.equal(await store.searchIndexSize(projectId), 3002);
      assert.deepEqual(await search({ terms: ['word3001'] }), [3001]);
      // A chunk that does not start at the size, and the one handed over behind it.
      const refused = [store.indexForSearch(projectId, 3003, docs.slice(3003, 3005)), store.indexForSearch(projectId, 3005, docs.slice(3005, 3006))];
      assert.deepEqual(await Promise.all(refused), [false, false]);
      assert.equal(await store.searchIndexSize(projectId), 3002);
      // Indexing from the size then works, and every entry is found once.
      assert.equal(await store.indexForSearch(projectId, 3002, docs.slice(3002)), true);
      assert.deepEqual(await search({ terms: ['word3004'] }), [3004]);
      assert.deepEqual(await search({ actor: 'a3005' }), [3005]);
      assert.equal((await search({ limit: 5000 })).length, count);
    });

    it('searchBacklog lists exactly the logs whose search index is behind, with both sizes', async () => {
      const { store } = handle;
      const other = testProject().id;
      const idle = testProject().id;
      for (const id of [projectId, other, idle]) await store.createProject(testProject({ id }));
      for (const [id, count] of [[projectId, 3], [other, 2]] as const) {
        const envelopes = Array.from({ length: count }, (_, i) => envelope(id, `e${i}`, i));
        await appendLeaves(store, id, envelopes.map(leafHash), envelopes);
      }
      const backlog = async () => (await store.searchBacklog()).sort((a, b) => a.projectId.localeCompare(b.projectId));
      const expected = (entries: Array<[string, number, number]>) =>
        entries.map(([id, treeSize, searchIndexSize]) => ({ projectId: id, treeSize, searchIndexSize })).sort((a, b) => a.projectId.localeCompare(b.projectId));
      assert.deepEqual(await backlog(), expected([[projectId, 3, 0], [other, 2, 0]]), 'an empty log is not behind');
      assert.equal(await store.indexForSearch(projectId, 0, [searchDoc(0), searchDoc(1)]), true);
      assert.deepEqual(await backlog(), expected([[projectId, 3, 2], [other, 2, 0]]));
      assert.equal(await store.indexForSearch(projectId, 2, [searchDoc(2)]), true);
      assert.equal(await store.indexForSearch(other, 0, [searchDoc(0), searchDoc(1)]), true);
      assert.deepEqual(await backlog(), [], 'every log caught up');
    });

    it('each predicate alone, and combined; strings are exact', async () => {
      await indexed([
        searchDoc(0, { eventName: 'Login', eventSource: 'auth', sourceIp: '10.0.0.1', actors: ['alice', 'arn:alice'], outcome: 'success' }),
        searchDoc(1, { eventName: 'Login', eventSource: 'auth', sourceIp: '10.0.0.2', actors: ['bob'], outcome: 'failure' }),
        searchDoc(2, { eventName: 'Logout', eventSource: 'auth', sourceIp: '10.0.0.1', actors: ['alice'], outcome: 'success' }),
        searchDoc(3, { eventName: 'GetObject', eventSource: 's3', actors: ['carol', 'alice'] }),
        searchDoc(4),
      ]);
      assert.deepEqual(await search({ eventName: 'Login' }), [1, 0]);
      assert.deepEqual(await search({ eventName: 'login' }), [], 'exact, case-sensitive');
      assert.deepEqual(await search({ eventSource: 'auth' }), [2, 1, 0]);
      assert.deepEqual(await search({ sourceIp: '10.0.0.1' }), [2, 0]);
      assert.deepEqual(await search({ actor: 'alice' }), [3, 2, 0], 'any of the actors');
      assert.deepEqual(await search({ actor: 'arn:alice' }), [0]);
      assert.deepEqual(await search({ outcome: 'failure' }), [1]);
      assert.deepEqual(await search({ outcome: 'success' }), [2, 0]);
      assert.deepEqual(await search({ eventName: 'Login', sourceIp: '10.0.0.1' }), [0]);
      assert.deepEqual(await search({ actor: 'alice', eventSource: 'auth', outcome: 'success' }), [2, 0]);
      assert.deepEqual(await search({ actor: 'alice', eventName: 'Login', outcome: 'failure' }), []);
      assert.deepEqual(await search({ eventName: 'Login', eventSource: 'auth', sourceIp: '10.0.0.2', outcome: 'failure', actor: 'bob' }), [1]);
    });

    it('orders by (time, index) both ways; time ranges are half-open; the cursor continues strictly after', async () => {
      // Times out of index order, with a tie at 5000 between 1 and 3.
      await indexed([searchDoc(0, { time: 9000 }), searchDoc(1, { time: 5000 }), searchDoc(2, { time: 7000 }), searchDoc(3, { time: 5000 }), searchDoc(4, { time: 1000 })]);
      assert.deepEqual(await search({}), [0, 2, 3, 1, 4]);
      assert.deepEqual(await search({ order: 'asc' }), [4, 1, 3, 2, 0]);
      assert.deepEqual(await search({ fromTime: 5000, toTime: 9000 }), [2, 3, 1]);
      assert.deepEqual(await search({ fromTime: 5001 }), [0, 2]);
      assert.deepEqual(await search({ toTime: 5000 }), [4]);
      assert.deepEqual(await search({ after: { time: 5000, index: 3 } }), [1, 4]);
      assert.deepEqual(await search({ after: { time: 5000, index: 3 }, order: 'asc' }), [2, 0]);
      assert.deepEqual(await search({ limit: 2 }), [0, 2]);
      assert.deepEqual(await search({ below: 3 }), [0, 2, 1], 'the snapshot bound');
      assert.deepEqual(await search({ below: 3, after: { time: 7000, index: 2 }, limit: 1 }), [1]);
    });

    it('full text: words, phrases, addresses, case and diacritics, prefixes; all terms must match; one project only', async () => {
      await indexed([
        searchDoc(0, { text: 'Access DENIED for user alice from 203.0.113.7' }),
        searchDoc(1, { text: 'access granted to bob from 203.0.113.70' }),
        searchDoc(2, { text: 'Café opened by josé@example.com' }),
        searchDoc(3, { text: 'denied access for carol' }),
      ]);
      const other = testProject().id;
      await indexed([searchDoc(0, { text: 'access denied elsewhere' })], other);
      assert.deepEqual(await search({ terms: ['denied'] }), [3, 0]);
      assert.deepEqual(await search({ terms: ['access denied'] }), [0], 'a phrase: words in sequence');
      assert.deepEqual(await search({ terms: ['access', 'denied'] }), [3, 0], 'separate terms: each anywhere');
      assert.deepEqual(await search({ terms: ['203.0.113.7'] }), [0], 'an address is a phrase of its numbers');
      assert.deepEqual(await search({ terms: ['ALICE'] }), [0]);
      assert.deepEqual(await search({ terms: ['cafe'] }), [2], 'diacritics folded');
      assert.deepEqual(await search({ terms: ['jose@example.com'] }), [2]);
      assert.deepEqual(await search({ terms: ['gran*'] }), [1]);
      assert.deepEqual(await search({ terms: ['gran'] }), [], 'no prefix without *');
      assert.deepEqual(await search({ terms: ['denied', 'carol'] }), [3]);
      assert.deepEqual(await search({ terms: ['"quoted" OR NOT'] }), [], "the caller's quotes and operators are text, not syntax");
      assert.deepEqual(await search({ terms: ['access'], fromTime: 1_001_000, toTime: 1_003_000 }), [1]);
      assert.deepEqual(await search({ terms: ['elsewhere'] }), []);
      assert.deepEqual(await search({ terms: ['elsewhere'] }, other), [0]);
    });

    it('full text in long texts, with words repeated hundreds of times or thousands of bytes long; strings holding NUL', async () => {
      const many = Array.from({ length: 20_000 }, (_, i) => `w${i}`).join(' ');
      const x = (n: number) => 'x'.repeat(n);
      await indexed([
        searchDoc(0, { text: `${many} tail end` }),
        searchDoc(1, { text: `${'the '.repeat(300)}the final` }),
        searchDoc(2, { text: `${x(3000)} after` }),
        searchDoc(3, { text: x(2046) }),
        searchDoc(4, { eventName: 'a\u0000b', actors: ['nul\u0000actor'] }),
        searchDoc(5, { eventName: 'a\uffff0b' }),
      ]);
      assert.deepEqual(await search({ terms: ['tail end'] }), [0], 'a phrase past the 16,383rd word');
      assert.deepEqual(await search({ terms: ['w19998 w19999 tail'] }), [0]);
      assert.deepEqual(await search({ terms: ['w19999 w19998'] }), [], 'in order only');
      assert.deepEqual(await search({ terms: ['the final'] }), [1], "after the 256th 'the'");
      assert.deepEqual(await search({ terms: ['final the'] }), []);
      assert.deepEqual(await search({ terms: [x(3000)] }), [2]);
      assert.deepEqual(await search({ terms: [x(2999)] }), [], 'a long word is not found by a shorter one');
      assert.deepEqual(await search({ terms: [x(3001)] }), []);
      assert.deepEqual(await search({ terms: [`${x(2999)}*`] }), [2]);
      assert.deepEqual(await search({ terms: [`${x(3000)} after`] }), [2]);
      assert.deepEqual(await search({ terms: [x(2046)] }), [3]);
      assert.deepEqual(await search({ terms: [`${x(2046)}*`] }), [3, 2]);
      assert.deepEqual(await search({ terms: ['xx*'] }), [3, 2]);
      assert.deepEqual(await search({ eventName: 'a\u0000b' }), [4]);
      assert.deepEqual(await search({ actor: 'nul\u0000actor' }), [4]);
      assert.deepEqual(await search({ eventName: 'a\uffff0b' }), [5]);
      assert.deepEqual(await search({ eventName: 'a' }), []);
    });

    it('full text with a time range, when times are not in index order', async () => {
      await indexed([
        searchDoc(0, { time: 500, text: 'alpha' }),
        searchDoc(1, { time: 100, text: 'alpha beta' }),
        searchDoc(2, { time: 300, text: 'beta' }),
        searchDoc(3, { time: 200, text: 'alpha' }),
        searchDoc(4, { time: 400, text: 'alpha' }),
      ]);
      assert.deepEqual(await search({ terms: ['alpha'], fromTime: 150, toTime: 450 }), [4, 3]);
      assert.deepEqual(await search({ terms: ['alpha'], fromTime: 100, toTime: 250, order: 'asc' }), [1, 3]);
      assert.deepEqual(await search({ terms: ['beta'], fromTime: 600 }), []);
      assert.deepEqual(await search({ terms: ['alpha'], toTime: 450, below: 4 }), [3, 1]);
    });

    it('searchIndexRange gives the least and greatest index in a time range', async () => {
      await indexed([searchDoc(0, { time: 100 }), searchDoc(1, { time: 300 }), searchDoc(2, { time: 200 }), searchDoc(3, { time: 400 })]);
      assert.deepEqual(await handle.store.searchIndexRange(projectId, 150, 350), { searchIndexSize: 4, first: 1, last: 2 });
      assert.deepEqual(await handle.store.searchIndexRange(projectId, undefined, 150), { searchIndexSize: 4, first: 0, last: 0 });
      assert.deepEqual(await handle.store.searchIndexRange(projectId, 500), { searchIndexSize: 4 });
    });

    it('the search index survives a reopen, and a lost one reports size 0, not stale rows', async () => {
      await indexed([searchDoc(0, { eventName: 'A' }), searchDoc(1, { eventName: 'A' })]);
      await handle.reopen();
      assert.equal(await handle.store.searchIndexSize(projectId), 2);
      assert.deepEqual(await search({ eventName: 'A' }), [1, 0]);
      const lose = LOSES_DERIVED_INDEX_FILE[engine];
      if (lose !== NOT_SUPPORTED) {
        await handle.store.close();
        lose(handle);
        await handle.reopen();
        assert.equal(await handle.store.searchIndexSize(projectId), 0);
        assert.deepEqual(await search({ eventName: 'A', below: 2 }), []);
        assert.equal(await handle.store.indexForSearch(projectId, 0, [searchDoc(0, { eventName: 'A' })]), true);
        assert.deepEqual(await search({ eventName: 'A' }), [0]);
      }
    });
  });
}
