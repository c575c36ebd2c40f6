/**
 * The store contract (src/store/store.ts), once, over every engine in ENGINES.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENGINES, initStore, testProject, type TestStore, appendLeaves } from '../helpers/stores.ts';
import { AlreadyExistsError, TreeSizeMismatchError, VersionMismatchError } from '../../src/store/store.ts';
import { newApiKey } from '../../src/auth/api-keys.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import { SQLITE_INDEX_FILE } from '../../src/store/sqlite/sqlite-config.ts';

function envelope(projectId: string, eventId: string, n: number): Buffer {
  return Buffer.from(envelopeText(`{"n":${n}}`, eventId, projectId, '2026-01-01T00:00:00.000Z'));
}

/** Engine-specific expectations, keyed by engine (STYLE.md §10). */
const LOSES_DERIVED_INDEX_FILE: Record<string, (handle: TestStore) => void> = {
  sqlite: (handle) => {
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(handle.dataDir, SQLITE_INDEX_FILE + suffix), { force: true });
  },
};

for (const engine of ENGINES) {
  describe(`${engine}: store conformance`, () => {
    let handle: TestStore;
    beforeEach(async () => {
      handle = await initStore(engine);
    });
    afterEach(() => handle.destroy());

    it('creates, reads and lists projects; a used id is AlreadyExistsError', async () => {
      const { store } = handle;
      const a = testProject({ name: 'a' });
      const b = testProject({ name: 'b', system: true });
      await store.createProject(a);
      await store.createProject(b);
      assert.deepEqual(await store.getProject(a.id), a);
      assert.deepEqual(await store.listProjects(), [a, b]);
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
      if (lose) {
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
      await handle.store.setCursor(project.id, 'd2', 1, '2026-01-01T00:00:03.000Z');
      await handle.reopen();
      assert.equal((await handle.store.getCursor(project.id, 'd1'))?.nextIndex, 25);
      assert.equal((await handle.store.getCursor(project.id, 'd2'))?.nextIndex, 1);
    });

    it('answers ping until closed', async () => {
      await handle.store.ping();
      await handle.store.close();
      await assert.rejects(handle.store.ping());
      await handle.reopen();
    });
  });
}
