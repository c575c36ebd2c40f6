/**
 * The CLI against a PostgreSQL store: a node refuses to start without the shared checkpoint
 * key or the shared server secret (and says how to make them), `keys create --store` works
 * beside running nodes and its key is accepted at once (an Atlas pair, made with the secret,
 * over Digest too), `fsck --store` names the first changed entry, and a node refuses a database
 * a newer Veritrail migrated.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { api, runCli, startServer } from '../helpers/server-process.ts';
import { postgresCluster, withClient } from '../helpers/postgres.ts';
import { ENGINES, tempDir } from '../helpers/stores.ts';
import { parseSignerKey } from '../../src/log/signed-note.ts';
import { ensureDebianTool } from '../helpers/debian.ts';

const run = promisify(execFile);

/** A fresh database and an empty data directory, both removed after the test. */
async function freshStore(t: { after(fn: () => Promise<void>): void }): Promise<{ url: string; dataDir: string }> {
  const cluster = await postgresCluster();
  const url = await cluster.createDatabase();
  const dataDir = tempDir('vt-pgcli-');
  t.after(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await cluster.dropDatabase(url);
  });
  return { url, dataDir };
}

describe('the CLI on PostgreSQL', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  it('shared key, keys create beside a running node, fsck finds a changed entry', async (t) => {
    ensureDebianTool('curl');
    const { url, dataDir } = await freshStore(t);

    // No key given: the node refuses, and the message holds the fix. Nothing was made on disk.
    const refused = runCli(['serve', '--store', url, '--data', dataDir, '--port', '0'], { VERITRAIL_CHECKPOINT_KEY: '' });
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /veritrail keys checkpoint --origin-host/);
    assert.deepEqual(fs.readdirSync(dataDir), []);

    const made = runCli(['keys', 'checkpoint', '--origin-host', 'crash.test']);
    assert.equal(made.status, 0, made.stderr);
    const signer = parseSignerKey(made.stdout.trim());
    assert.equal(signer.name, 'crash.test');

    // The key alone is not enough: every node must also be given the one server secret.
    const noSecret = runCli(['serve', '--store', url, '--data', dataDir, '--port', '0'], { VERITRAIL_CHECKPOINT_KEY: signer.signerText, VERITRAIL_SERVER_SECRET: '' });
    assert.equal(noSecret.status, 2, noSecret.stdout + noSecret.stderr);
    assert.match(noSecret.stderr, /VERITRAIL_SERVER_SECRET/);
    assert.deepEqual(fs.readdirSync(dataDir), []);

    const secret = randomBytes(32).toString('base64');
    const node = await startServer(dataDir, { VERITRAIL_CHECKPOINT_KEY: signer.signerText, VERITRAIL_SERVER_SECRET: secret }, ['--store', url]);
    t.after(() => (node.child.exitCode === null ? node.kill9() : undefined));
    const org = node.firstKey!;
    const project = (await (await api(`${node.url}/v1/projects`, org, 'POST', { name: 'cli' })).json()) as { id: string };
    const events = Array.from({ length: 20 }, (_, i) => ({ eventId: `e${i}`, n: i }));
    assert.equal((await api(`${node.url}/v1/projects/${project.id}/events?wait=checkpoint`, org, 'POST', events)).status, 201);

    // A key made offline while the node runs works on the node's very next request.
    const created = runCli(['keys', 'create', '--role', 'PROJECT_READ_ONLY', '--project', project.id, '--store', url]);
    assert.equal(created.status, 0, created.stderr);
    assert.equal((await api(`${node.url}/v1/projects/${project.id}/log/checkpoint`, created.stdout.trim())).status, 200);
    // An Atlas key pair seals its Digest HA1 under the server secret, so making one offline
    // needs the nodes' secret; made with it, the node accepts the pair over HTTP Digest.
    const atlasArgs = ['keys', 'create', '--role', 'ORG_OWNER', '--type', 'atlas', '--store', url, '--data', dataDir];
    const unsealable = runCli(atlasArgs, { VERITRAIL_SERVER_SECRET: '' });
    assert.equal(unsealable.status, 2, unsealable.stdout + unsealable.stderr);
    assert.match(unsealable.stderr, /VERITRAIL_SERVER_SECRET/);
    const atlasMade = runCli(atlasArgs, { VERITRAIL_SERVER_SECRET: secret });
    assert.equal(atlasMade.status, 0, atlasMade.stderr);
    const atlas = JSON.parse(atlasMade.stdout) as { publicKey: string; privateKey: string };
    const digest = await run('curl', ['-sS', '--digest', '-u', `${atlas.publicKey}:${atlas.privateKey}`, '-H', 'Accept: application/vnd.atlas.2023-01-01+json', `${node.url}/api/atlas/v2/groups/${project.id}/auditLog`]);
    assert.deepEqual(JSON.parse(digest.stdout), { auditAuthorizationSuccess: false, configurationType: 'NONE', enabled: false });
    assert.equal(await node.stop(), 0);

    const ok = runCli(['fsck', '--store', url, '--key', signer.text]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    // Change one byte of entry 7 behind the store's back.
    await withClient(url, (client) => client.query(`UPDATE entries SET envelope = overlay(envelope placing '9'::bytea from position('"n":7'::bytea in envelope) + 4) WHERE idx = 7`));
    const bad = runCli(['fsck', '--store', url], { VERITRAIL_CHECKPOINT_KEY: signer.signerText });
    assert.equal(bad.status, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /BAD .*first bad index 7\b/);
  });

  it('a node refuses a database migrated by a newer Veritrail, and migrates nothing', async (t) => {
    const { url, dataDir } = await freshStore(t);
    const env = { VERITRAIL_CHECKPOINT_KEY: runCli(['keys', 'checkpoint', '--origin-host', 'newer.test']).stdout.trim(), VERITRAIL_SERVER_SECRET: randomBytes(32).toString('base64') };
    const node = await startServer(dataDir, env, ['--store', url]);
    assert.equal(await node.stop(), 0);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const versions = async () => (await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
    const latest = Math.max(...(await versions()));
    await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [latest + 1, 'from a newer release', new Date().toISOString()]);
    const refused = runCli(['serve', '--store', url, '--data', dataDir, '--port', '0'], env);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(`schema version ${latest + 1}, newer than this Veritrail \\(${latest}\\); upgrade Veritrail`));
    const after = await versions();
    await client.end();
    assert.deepEqual(after, [...Array.from({ length: latest }, (_, i) => i + 1), latest + 1]);
  });
});
