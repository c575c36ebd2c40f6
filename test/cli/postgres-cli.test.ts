/**
 * The CLI against a PostgreSQL store: a node refuses to start without the shared checkpoint
 * key (and says how to make one), `keys create --store` works beside running nodes and its key
 * is accepted at once, and `fsck --store` names the first changed entry.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import pg from 'pg';
import { api, runCli, startServer } from '../helpers/server-process.ts';
import { postgresCluster } from '../helpers/postgres.ts';
import { ENGINES, tempDir } from '../helpers/stores.ts';
import { parseSignerKey } from '../../src/log/signed-note.ts';

describe('the CLI on PostgreSQL', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  it('shared key, keys create beside a running node, fsck finds a changed entry', async (t) => {
    const cluster = await postgresCluster();
    const url = await cluster.createDatabase();
    const dataDir = tempDir('vt-pgcli-');
    t.after(async () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      await cluster.dropDatabase(url);
    });

    // No key given: the node refuses, and the message holds the fix. Nothing was made on disk.
    const refused = runCli(['serve', '--store', url, '--data', dataDir, '--port', '0'], { VERITRAIL_CHECKPOINT_KEY: '' });
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /veritrail keys checkpoint --origin-host/);
    assert.deepEqual(fs.readdirSync(dataDir), []);

    const made = runCli(['keys', 'checkpoint', '--origin-host', 'crash.test']);
    assert.equal(made.status, 0, made.stderr);
    const signer = parseSignerKey(made.stdout.trim());
    assert.equal(signer.name, 'crash.test');

    const node = await startServer(dataDir, { VERITRAIL_CHECKPOINT_KEY: signer.signerText }, ['--store', url]);
    t.after(() => (node.child.exitCode === null ? node.kill9() : undefined));
    const org = node.firstKey!;
    const project = (await (await api(`${node.url}/v1/projects`, org, 'POST', { name: 'cli' })).json()) as { id: string };
    const events = Array.from({ length: 20 }, (_, i) => ({ eventId: `e${i}`, n: i }));
    assert.equal((await api(`${node.url}/v1/projects/${project.id}/events?wait=checkpoint`, org, 'POST', events)).status, 201);

    // A key made offline while the node runs works on the node's very next request.
    const created = runCli(['keys', 'create', '--role', 'PROJECT_READ_ONLY', '--project', project.id, '--store', url]);
    assert.equal(created.status, 0, created.stderr);
    assert.equal((await api(`${node.url}/v1/projects/${project.id}/log/checkpoint`, created.stdout.trim())).status, 200);
    assert.equal(await node.stop(), 0);

    const ok = runCli(['fsck', '--store', url, '--key', signer.text]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    // Change one byte of entry 7 behind the store's back.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`UPDATE entries SET envelope = overlay(envelope placing '9'::bytea from position('"n":7'::bytea in envelope) + 4) WHERE idx = 7`);
    await client.end();
    const bad = runCli(['fsck', '--store', url], { VERITRAIL_CHECKPOINT_KEY: signer.signerText });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /BAD .*first bad index 7\b/);
  });
});
