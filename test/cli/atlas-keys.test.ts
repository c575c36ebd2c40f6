/**
 * An Atlas key pair made offline with `veritrail keys create --type atlas`, then spec/atlas.md §0's
 * curl commands, word for word, against a real `veritrail serve` process: Digest with an
 * ORG_OWNER API key pair, and the OAuth service-account token flow.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { api, runCli, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';
import { ensureDebianTool } from '../helpers/debian.ts';

const run = promisify(execFile);

describe('Atlas keys from the CLI, used by curl against veritrail serve', () => {
  let dataDir: string;
  let server: ServerProcess;
  let group: string;
  let atlas: { publicKey: string; privateKey: string };
  let account: { clientId: string; clientSecret: string };

  before(async () => {
    ensureDebianTool('curl');
    dataDir = tempDir('vt-atlas-cli-');
    // The first key of an empty data directory, made offline: an Atlas key pair.
    const made = runCli(['keys', 'create', '--role', 'ORG_OWNER', '--type', 'atlas', '--data', dataDir]);
    assert.equal(made.status, 0, made.stderr);
    atlas = JSON.parse(made.stdout);
    server = await startServer(dataDir);
    assert.equal(server.firstKey, undefined, 'the store has a key: no first key is printed');
    // Its private key is a Veritrail key too, so it also works as a native Bearer key.
    group = ((await (await api(`${server.url}/v1/projects`, atlas.privateKey, 'POST', { name: 'atlas' })).json()) as { id: string }).id;
    const created = await api(`${server.url}/v1/projects/${group}/keys`, atlas.privateKey, 'POST', { role: 'PROJECT_OWNER', type: 'service-account' });
    account = (await created.json()) as { clientId: string; clientSecret: string };
    assert.match(account.clientId, /^mdb_sa_id_[0-9a-f]{24}$/);
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const curl = async (args: string[]) => (await run('curl', ['-sS', ...args])).stdout;

  it('v2 GET and PATCH and v1.0 GET with curl --digest, as spec/atlas.md §0 writes them', async () => {
    const user = `${atlas.publicKey}:${atlas.privateKey}`;
    const got = await curl(['--digest', '-u', user, '-H', 'Accept: application/vnd.atlas.2023-01-01+json', `${server.url}/api/atlas/v2/groups/${group}/auditLog?pretty=true`]);
    assert.deepEqual(JSON.parse(got), { auditAuthorizationSuccess: false, configurationType: 'NONE', enabled: false });
    const patched = await curl([
      '--digest', '-u', user, '-X', 'PATCH',
      '-H', 'Accept: application/vnd.atlas.2025-03-12+json', '-H', 'Content-Type: application/json',
      `${server.url}/api/atlas/v2/groups/${group}/auditLog`,
      '-d', '{"enabled":true,"auditFilter":"{\\"atype\\":\\"authenticate\\"}"}',
    ]);
    assert.deepEqual(JSON.parse(patched), { auditAuthorizationSuccess: false, auditFilter: '{"atype":"authenticate"}', configurationType: 'FILTER_JSON', enabled: true });
    const legacy = await curl(['--digest', '-u', user, '-H', 'Accept: application/json', `${server.url}/api/atlas/v1.0/groups/${group}/auditLog?pretty=true`]);
    assert.equal(JSON.parse(legacy).auditFilter, '{"atype":"authenticate"}');
    const unknown = await curl(['--digest', '-u', user, '-H', 'Accept: application/vnd.atlas.2023-01-01+json', `${server.url}/api/atlas/v2/groups/${'a'.repeat(24)}/auditLog`]);
    assert.equal(JSON.parse(unknown).errorCode, 'GROUP_NOT_FOUND', 'an ORG_OWNER key sees that the group does not exist');
  });

  it('the OAuth service account: token with curl -u id:secret, then Bearer', async () => {
    const token = JSON.parse(await curl(['-u', `${account.clientId}:${account.clientSecret}`, '-d', 'grant_type=client_credentials', `${server.url}/api/oauth/token`]));
    assert.equal(token.token_type, 'Bearer');
    assert.equal(token.expires_in, 3600);
    const got = await curl(['-H', `Authorization: Bearer ${token.access_token}`, '-H', 'Accept: application/vnd.atlas.2023-01-01+json', `${server.url}/api/atlas/v2/groups/${group}/auditLog`]);
    assert.equal(JSON.parse(got).configurationType, 'FILTER_JSON');
  });
});
