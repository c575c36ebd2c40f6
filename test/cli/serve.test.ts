/**
 * `veritrail serve` as a process: the first key shown once, a clean stop under load, the
 * start-up check, a data directory from a newer Veritrail refused (store/migrations.ts), and
 * `veritrail verify --server` watching for rewritten history.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { api, runCli, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';
import { SQLITE_MAIN_FILE } from '../../src/store/sqlite/sqlite-config.ts';
import { waitUntil } from '../helpers/wait.ts';

function dir(t: { after(fn: () => void): void }): string {
  const d = tempDir('vt-serve-');
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('veritrail serve', () => {
  it('prints the first ORG_OWNER key on the first start only, and the key works', async (t) => {
    const data = dir(t);
    const first = await startServer(data);
    assert.ok(first.firstKey, first.output());
    assert.equal((await api(`${first.url}/v1/projects`, first.firstKey!)).status, 200);
    assert.equal(await first.stop(), 0);
    const second = await startServer(data);
    assert.equal(second.firstKey, undefined, 'a restart shows no key');
    assert.equal((await api(`${second.url}/v1/projects`, first.firstKey!)).status, 200);
    assert.equal(await second.stop(), 0);
    assert.equal(fs.statSync(path.join(data, 'checkpoint-key')).mode & 0o777, 0o600);
  });

  it('SIGTERM under load finishes in-flight commits: no 5xx, and every 201 is in the log after restart', async (t) => {
    const data = dir(t);
    const server = await startServer(data);
    const org = server.firstKey!;
    const project = ((await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'stop' })).json()) as { id: string }).id;
    const acked: string[] = [];
    const statuses: number[] = [];
    let stop = false;
    const clients = Array.from({ length: 6 }, async (_, c) => {
      for (let i = 0; !stop; i++) {
        try {
          const response = await api(`${server.url}/v1/projects/${project}/events`, org, 'POST', { eventId: `c${c}-${i}`, c, i });
          statuses.push(response.status);
          if (response.status === 201) acked.push(`c${c}-${i}`);
        } catch {
          return; // connection refused once the server stopped listening
        }
      }
    });
    // Stop mid-stream: once some events are acknowledged and requests are certainly in flight.
    for (const started = Date.now(); acked.length < 20 && Date.now() - started < 30_000; ) await new Promise((resolve) => setTimeout(resolve, 20));
    const exit = server.stop();
    stop = true;
    await Promise.all(clients);
    assert.equal(await exit, 0);
    assert.ok(statuses.every((s) => s === 201 || s === 503), `statuses seen: ${[...new Set(statuses)].join(', ')}`);
    const again = await startServer(data);
    try {
      const exported = await (await api(`${again.url}/v1/projects/${project}/export`, org)).text();
      const ids = new Set(exported.trimEnd().split('\n').slice(0, -1).map((line) => (JSON.parse(line) as { eventId: string }).eventId));
      for (const id of acked) assert.ok(ids.has(id), `acknowledged ${id} is missing`);
      assert.ok(acked.length >= 20, `only ${acked.length} events were acknowledged`);
    } finally {
      await again.stop();
    }
    // A clean stop signed a checkpoint covering everything, so fsck has nothing unsigned to doubt.
    const fsck = runCli(['fsck', '--data', data]);
    assert.equal(fsck.status, 0, fsck.stdout);
  });

  it('refuses to start when the stored tree no longer matches the last checkpoint, and says what to run', async (t) => {
    const data = dir(t);
    const server = await startServer(data);
    const org = server.firstKey!;
    const project = ((await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'tiles' })).json()) as { id: string }).id;
    await api(`${server.url}/v1/projects/${project}/events?wait=checkpoint`, org, 'POST', Array.from({ length: 40 }, (_, i) => ({ i })));
    assert.equal(await server.stop(), 0);
    const db = new Database(path.join(data, SQLITE_MAIN_FILE));
    const tile = db.prepare('SELECT t.rowid AS id, t.hashes FROM tiles t JOIN projects p ON p.pk = t.project_pk WHERE p.id = ? AND t.level = 0').get(project) as { id: number; hashes: Buffer };
    tile.hashes[32 * 7]! ^= 0xff; // the stored hash of entry 7
    db.prepare('UPDATE tiles SET hashes = ? WHERE rowid = ?').run(tile.hashes, tile.id);
    db.close();
    await assert.rejects(startServer(data), (error: Error) => error.message.includes(`project ${project} failed its start-up check`) && error.message.includes('veritrail fsck'));
    const fsck = runCli(['fsck', '--data', data]);
    assert.equal(fsck.status, 1);
    assert.match(fsck.stdout, /first bad index 7\b/);
  });
  it('indexes for search at a lower CPU priority than it accepts events (Linux threads)', { skip: !fs.existsSync('/proc/thread-self') && 'no /proc/thread-self' }, async (t) => {
    const server = await startServer(dir(t));
    t.after(() => server.stop());
    // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value; a thread that ended
    // meanwhile is skipped.
    const nice = (tid: string) => {
      try {
        return Number(fs.readFileSync(`/proc/${server.child.pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
      } catch {
        return undefined;
      }
    };
    // The main thread (requests, the sequencer) runs at the nice value the test runs at.
    const base = nice(String(server.child.pid))!;
    if (base >= 10) return t.skip('the tests run at nice 10 or more already');
    const lowered = () => fs.readdirSync(`/proc/${server.child.pid}/task`).map(nice).filter((value) => value !== undefined && value !== base);
    // The thread lowers its own priority as it starts, which may be just after the server listens.
    await waitUntil(() => lowered().length > 0, 'a thread at a lower priority', 10_000);
    assert.deepEqual(lowered(), [10], 'one thread, the search indexer, runs at nice 10');
  });

  it('refuses a data directory written by a newer Veritrail, says so, and leaves it as it was', async (t) => {
    const data = dir(t);
    const server = await startServer(data);
    assert.equal(await server.stop(), 0);
    const main = path.join(data, SQLITE_MAIN_FILE);
    const db = new Database(main);
    const latest = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 1, 'from a newer release', new Date().toISOString());
    db.close();
    const before = fs.readFileSync(main);
    const refused = runCli(['serve', '--data', data, '--port', '0']);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(`schema version ${latest + 1}, newer than this Veritrail \\(${latest}\\); upgrade Veritrail`));
    assert.ok(fs.readFileSync(main).equals(before), 'the refused start changed the database file');
  });
});

describe('veritrail verify --server', () => {
  it('accepts a log that only grew, and fails when history was rewritten', async (t) => {
    const data = dir(t);
    const server = await startServer(data);
    t.after(() => server.stop());
    const org = server.firstKey!;
    const project = ((await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'watched' })).json()) as { id: string }).id;
    const state = path.join(data, 'verify-state.json');
    const verify = () => runCli(['verify', '--server', server.url, '--project', project, '--api-key', org, '--state', state]);
    await api(`${server.url}/v1/projects/${project}/events?wait=checkpoint`, org, 'POST', Array.from({ length: 5 }, (_, i) => ({ i })));
    let run = verify();
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /previous size none, current size 5/);
    await api(`${server.url}/v1/projects/${project}/events?wait=checkpoint`, org, 'POST', Array.from({ length: 7 }, (_, i) => ({ j: i })));
    run = verify();
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /previous size 5, current size 12; consistent/);
    // Pretend the checkpoint seen before had another root: as if the server had since rewritten
    // the first entries. The consistency proof can no longer connect the two.
    const saved = JSON.parse(fs.readFileSync(state, 'utf8')) as Record<string, { size: number; root: string }>;
    const key = Object.keys(saved)[0]!;
    saved[key] = { ...saved[key]!, size: 6, root: Buffer.alloc(32, 7).toString('base64') };
    fs.writeFileSync(state, JSON.stringify(saved));
    run = verify();
    assert.equal(run.status, 1);
    assert.match(run.stdout, /FAILED: checkpoint 12 is not consistent with checkpoint 6 seen before/);
    saved[key] = { ...saved[key]!, size: 50 };
    fs.writeFileSync(state, JSON.stringify(saved));
    run = verify();
    assert.equal(run.status, 1);
    assert.match(run.stdout, /the log shrank from 50 to 12/);
  });
});
