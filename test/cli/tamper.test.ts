/**
 * Tamper detection: change one byte of one stored event inside the SQLite file, delete one row,
 * cut the last rows. `veritrail fsck` and an export checked by `veritrail verify` each fail and
 * name the index.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { api, runCli, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';
import { SQLITE_MAIN_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { CHECKPOINT_KEY_FILE } from '../../src/log/log-key.ts';

const EVENTS = 500;

describe('tamper detection', () => {
  let pristine: string;
  let projectId: string;
  let vkeyFile: string;
  const dirs: string[] = [];

  before(async () => {
    pristine = tempDir('vt-tamper-');
    dirs.push(pristine);
    const server = await startServer(pristine);
    const org = server.firstKey!;
    projectId = ((await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'tamper' })).json()) as { id: string }).id;
    const events = Array.from({ length: EVENTS }, (_, i) => ({ eventId: `e${i}`, marker: `marker-${String(i).padStart(5, '0')}`, body: 'lorem ipsum '.repeat(5) }));
    const response = await api(`${server.url}/v1/projects/${projectId}/events?wait=checkpoint`, org, 'POST', events);
    assert.equal(response.status, 201);
    vkeyFile = path.join(pristine, 'vkey.txt');
    fs.writeFileSync(vkeyFile, ((await (await fetch(`${server.url}/v1/log/key`)).json()) as { vkey: string }).vkey);
    assert.equal(await server.stop(), 0); // a clean stop folds the WAL into the main file
    assert.ok(!fs.existsSync(path.join(pristine, `${SQLITE_MAIN_FILE}-wal`)) || fs.statSync(path.join(pristine, `${SQLITE_MAIN_FILE}-wal`)).size === 0);
  });
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  function copy(): string {
    const dir = tempDir('vt-tamper-copy-');
    dirs.push(dir);
    fs.cpSync(pristine, dir, { recursive: true });
    return dir;
  }

  /** fsck must fail naming `index`, and a fresh export must fail `veritrail verify` naming it. */
  async function expectDetected(dataDir: string, index: number): Promise<void> {
    const fsck = runCli(['fsck', '--data', dataDir]);
    assert.equal(fsck.status, 1, fsck.stdout + fsck.stderr);
    assert.match(fsck.stdout, new RegExp(`BAD .*first bad index ${index}\\b`), fsck.stdout);

    const server = await startServer(dataDir);
    try {
      const org = runCli(['keys', 'create', '--role', 'ORG_OWNER', '--data', dataDir]);
      assert.equal(org.status, 2, 'the running server holds the data directory lock');
      assert.match(org.stderr, /another Veritrail \(pid \d+\) is using/);
    } finally {
      await server.stop();
    }
    // Make a key offline, then export through a running server.
    const made = runCli(['keys', 'create', '--role', 'ORG_OWNER', '--data', dataDir]);
    assert.equal(made.status, 0, made.stderr);
    const key = made.stdout.trim();
    const again = await startServer(dataDir);
    try {
      const exported = await api(`${again.url}/v1/projects/${projectId}/export`, key);
      assert.equal(exported.status, 200);
      const file = path.join(dataDir, 'export.jsonl');
      fs.writeFileSync(file, Buffer.from(await exported.arrayBuffer()));
      const verify = runCli(['verify', file, '--key', vkeyFile]);
      assert.equal(verify.status, 1, verify.stdout + verify.stderr);
      assert.match(verify.stdout, new RegExp(`FAILED at index ${index}\\b`), verify.stdout);
    } finally {
      await again.stop();
    }
  }

  it('the untouched store passes fsck and its export verifies', async () => {
    const dir = copy();
    const fsck = runCli(['fsck', '--data', dir]);
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    const made = runCli(['keys', 'create', '--role', 'ORG_OWNER', '--data', dir]);
    const server = await startServer(dir);
    try {
      const file = path.join(dir, 'export.jsonl');
      fs.writeFileSync(file, Buffer.from(await (await api(`${server.url}/v1/projects/${projectId}/export`, made.stdout.trim())).arrayBuffer()));
      const verify = runCli(['verify', file, '--key', vkeyFile]);
      assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    } finally {
      await server.stop();
    }
    // An empty VERITRAIL_DATABASE_URL means SQLite in --data, as an unset one does.
    const emptyUrl = runCli(['fsck', '--data', dir], { VERITRAIL_DATABASE_URL: '' });
    assert.equal(emptyUrl.status, 0, emptyUrl.stdout + emptyUrl.stderr);
    // With no checkpoint key file, fsck says what it needs, and takes the verifier key instead.
    fs.rmSync(path.join(dir, CHECKPOINT_KEY_FILE));
    const keyless = runCli(['fsck', '--data', dir]);
    assert.equal(keyless.status, 2, keyless.stdout + keyless.stderr);
    assert.match(keyless.stderr, /fsck needs the log's key and found none: give --key VKEY/);
    const withKey = runCli(['fsck', '--data', dir, '--key', vkeyFile]);
    assert.equal(withKey.status, 0, withKey.stdout + withKey.stderr);
  });

  it('one byte of one event changed in the database file', async () => {
    const dir = copy();
    const file = path.join(dir, SQLITE_MAIN_FILE);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('marker-00123');
    assert.ok(at > 0 && bytes.indexOf('marker-00123', at + 1) < 0, 'the marker is in the file once');
    bytes[at + 'marker-0012'.length] = '4'.charCodeAt(0); // marker-00123 -> marker-00124
    fs.writeFileSync(file, bytes);
    await expectDetected(dir, 123);
  });

  it('one row deleted', async () => {
    const dir = copy();
    const db = new Database(path.join(dir, SQLITE_MAIN_FILE));
    const deleted = db.prepare("DELETE FROM entries WHERE CAST(envelope AS TEXT) LIKE '%marker-00200%'").run();
    db.close();
    assert.equal(deleted.changes, 1);
    await expectDetected(dir, 200);
  });

  it('the last rows truncated', async () => {
    const dir = copy();
    const db = new Database(path.join(dir, SQLITE_MAIN_FILE));
    const pk = (db.prepare('SELECT pk FROM projects WHERE id = ?').get(projectId) as { pk: number }).pk;
    const deleted = db.prepare('DELETE FROM entries WHERE key >= ?').run(pk * 2 ** 32 + 450);
    db.close();
    assert.equal(deleted.changes, EVENTS - 450);
    await expectDetected(dir, 450);
  });
});
