/**
 * The Atlas dialect against real clients over TCP: Debian's `curl --digest` (the seeds' own
 * examples), npm `urllib@4` (the HTTP client of mongodb-atlas-api-client, with its process-wide
 * nc counter) and `oauth4webapi` (a strict OAuth 2 client-credentials client). Then the Digest
 * rules no real client lets a test provoke on purpose (a replayed nc, an expired nonce), with
 * hand-made requests.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'urllib';
import * as oauth from 'oauth4webapi';
import { build, type Built } from '../../helpers/app.ts';
import { ENGINES } from '../../helpers/stores.ts';
import { atlasKey, serviceAccount, V2 } from '../../helpers/atlas.ts';
import { ensureDebianTool } from '../../helpers/debian.ts';
import { digestAuthorization, parseChallenge } from '../../helpers/digest-client.ts';
import { parseEnvelope } from '../../../src/core/envelope.ts';

const run = promisify(execFile);

/** The seed 002 example filter, and the GET body it produces there. */
const SEED_002_FILTER = '{\n  "atype": "authenticate",\n  "param": {\n    "user": "auditAdmin",\n    "db": "admin",\n    "mechanism": "SCRAM-SHA-1"\n  }\n}';
const SEED_002_RESPONSE = { auditAuthorizationSuccess: false, auditFilter: SEED_002_FILTER, configurationType: 'FILTER_JSON', enabled: true };

async function listening(t: import('node:test').TestContext, config: Parameters<typeof build>[1] = {}): Promise<{ vt: Built; url: string; projectId: string }> {
  const vt = await build(t, config);
  const p = await vt.project();
  await vt.app.listen({ port: 0, host: '127.0.0.1' });
  const address = vt.app.server.address() as { port: number };
  return { vt, url: `http://127.0.0.1:${address.port}`, projectId: p.id };
}

/** curl, returning the body and the status code of the last response. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

describe('Atlas dialect with real clients (local server)', () => {
  before(() => ensureDebianTool('curl'));

  it('curl --digest: the seeds\' v2 GET and PATCH (Accept 2025-03-12) and v1.0 GET', async (t) => {
    const { vt, url, projectId } = await listening(t);
    const { publicKey, privateKey } = await atlasKey(vt, projectId);
    const user = `${publicKey}:${privateKey}`;

    const got = await curl(['--digest', '-u', user, '-H', `Accept: ${V2}`, `${url}/api/atlas/v2/groups/${projectId}/auditLog?pretty=true`]);
    assert.equal(got.status, 200);
    assert.deepEqual(JSON.parse(got.body), { auditAuthorizationSuccess: false, configurationType: 'NONE', enabled: false });
    assert.match(got.body, /^\{\n {2}"auditAuthorizationSuccess" : false,/);

    const patched = await curl([
      '--digest', '-u', user, '-X', 'PATCH',
      '-H', 'Accept: application/vnd.atlas.2025-03-12+json', '-H', 'Content-Type: application/json',
      `${url}/api/atlas/v2/groups/${projectId}/auditLog`,
      '-d', JSON.stringify({ enabled: true, auditFilter: SEED_002_FILTER }),
    ]);
    assert.equal(patched.status, 202);
    assert.deepEqual(JSON.parse(patched.body), SEED_002_RESPONSE);

    const legacy = await curl(['--digest', '-u', user, '-H', 'Accept: application/json', '-H', 'Content-Type: application/json', '--request', 'GET', `${url}/api/atlas/v1.0/groups/${projectId}/auditLog?pretty=true`]);
    assert.equal(legacy.status, 200);
    assert.deepEqual(JSON.parse(legacy.body), SEED_002_RESPONSE, 'the seed 002 example response');

    // curl's unauthenticated first PATCH (the challenge round trip) changed nothing and left no record.
    assert.equal((await vt.node.auditConfigs.history(projectId)).length, 1);
    const size = await vt.node.store.treeSize(projectId);
    const records = (await vt.node.store.readEntries(projectId, 0, size)).map((e) => parseEnvelope(e.envelope).event as Record<string, unknown>);
    assert.deepEqual(records.map((r) => r.eventName), ['UpdateAuditConfig']);
  });

  it('curl --digest reuses a nonce with a growing nc; a wrong private key or a revoked key is refused', async (t) => {
    const { vt, url, projectId } = await listening(t);
    const { publicKey, privateKey } = await atlasKey(vt, projectId);
    const target = `${url}/api/atlas/v1.0/groups/${projectId}/auditLog`;
    // One curl run, three URLs: one challenge, then nc=00000001..00000003 on the same nonce.
    const { stdout } = await run('curl', ['-sS', '--digest', '-u', `${publicKey}:${privateKey}`, '-w', '%{http_code}\n', '-o', '/dev/null', target, '-o', '/dev/null', target, '-o', '/dev/null', target]);
    assert.deepEqual(stdout.trim().split('\n'), ['200', '200', '200']);

    assert.equal((await curl(['--digest', '-u', `${publicKey}:${privateKey}x`, target])).status, 401);
    assert.equal((await curl(['--digest', '-u', `${'0'.repeat(24)}:${privateKey}`, target])).status, 401);
    await vt.node.store.revokeKey(projectId, publicKey);
    assert.equal((await curl(['--digest', '-u', `${publicKey}:${privateKey}`, target])).status, 401, 'revoked: refused at once');
  });

  it('urllib digestAuth (process-wide nc counter) over many requests and two keys, GET and PATCH', async (t) => {
    const { vt, url, projectId } = await listening(t);
    const first = await atlasKey(vt, projectId);
    const second = await atlasKey(vt, projectId);
    for (let i = 0; i < 6; i++) {
      const key = i % 2 === 0 ? first : second;
      const response = await request(`${url}/api/atlas/v2/groups/${projectId}/auditLog?envelope=${i === 5}`, { digestAuth: `${key.publicKey}:${key.privateKey}`, headers: { accept: V2 }, dataType: 'json' });
      assert.equal(response.status, 200, `request ${i}`);
    }
    const patched = await request(`${url}/api/atlas/v2/groups/${projectId}/auditLog`, {
      method: 'PATCH',
      digestAuth: `${first.publicKey}:${first.privateKey}`,
      headers: { accept: V2, 'content-type': 'application/json' },
      content: JSON.stringify({ enabled: 'true', auditAuthorizationSuccess: true }),
      dataType: 'json',
    });
    assert.equal(patched.status, 202);
    assert.deepEqual(patched.data, { auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', enabled: true });
    // mongodb-atlas-api-client sends Accept: application/json: v2 answers 406, v1.0 answers 200.
    const plain = await request(`${url}/api/atlas/v2/groups/${projectId}/auditLog`, { digestAuth: `${first.publicKey}:${first.privateKey}`, headers: { accept: 'application/json' } });
    assert.equal(plain.status, 406);
  });

  it('oauth4webapi: client credentials give a Bearer token that v2 accepts; revocation and expiry stop it', async (t) => {
    let now = Date.now();
    const { vt, url, projectId } = await listening(t, { clock: { now: () => now } });
    const account = await serviceAccount(vt, projectId);
    const as: oauth.AuthorizationServer = { issuer: url, token_endpoint: `${url}/api/oauth/token`, revocation_endpoint: `${url}/api/oauth/revoke` };
    const client: oauth.Client = { client_id: account.clientId };
    const options = { [oauth.allowInsecureRequests]: true };
    const grant = async (auth: oauth.ClientAuth) => oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams(), options));
    const getWith = (token: string) => fetch(`${url}/api/atlas/v2/groups/${projectId}/auditLog`, { headers: { authorization: `Bearer ${token}`, accept: V2 } });

    const token = await grant(oauth.ClientSecretBasic(account.clientSecret));
    assert.equal(token.token_type, 'bearer');
    assert.equal(token.expires_in, 3600);
    assert.equal((await getWith(token.access_token)).status, 200);
    const posted = await grant(oauth.ClientSecretPost(account.clientSecret));
    assert.equal((await getWith(posted.access_token)).status, 200, 'client_secret in the form body');

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.ClientSecretBasic(account.clientSecret), posted.access_token, options));
    assert.equal((await getWith(posted.access_token)).status, 401, 'revoked');
    assert.equal((await getWith(token.access_token)).status, 200, 'the other token still works');

    now += 3600 * 1000;
    const expired = await getWith(token.access_token);
    assert.equal(expired.status, 401, 'expired');
    assert.match(expired.headers.get('www-authenticate') ?? '', /^Digest realm="MMS Public API"/);
    const fresh = await grant(oauth.ClientSecretBasic(account.clientSecret));
    assert.equal((await getWith(fresh.access_token)).status, 200);
    await vt.node.store.revokeKey(projectId, account.keyId);
    assert.equal((await getWith(fresh.access_token)).status, 401, 'revoking the service account stops its tokens at once');
    await assert.rejects(grant(oauth.ClientSecretBasic(account.clientSecret)), (error: unknown) => error instanceof oauth.WWWAuthenticateChallengeError && error.status === 401);
  });

  it('the token endpoint refuses what RFC 6749 says to refuse', async (t) => {
    const { vt, url, projectId } = await listening(t);
    const account = await serviceAccount(vt, projectId);
    const atlas = await atlasKey(vt, projectId);
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    const token = (body: string, authorization?: string, type = 'application/x-www-form-urlencoded') =>
      fetch(`${url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': type, ...(authorization ? { authorization } : {}) }, body });

    const wrongGrant = await token('grant_type=password', basic(account.clientId, account.clientSecret));
    assert.equal(wrongGrant.status, 400);
    assert.equal(((await wrongGrant.json()) as { error: string }).error, 'unsupported_grant_type');
    const noGrant = await token('', basic(account.clientId, account.clientSecret));
    assert.equal(((await noGrant.json()) as { error: string }).error, 'invalid_request');
    for (const authorization of [basic(account.clientId, 'vt_wrong'), basic(`mdb_sa_id_${atlas.publicKey}`, atlas.privateKey), 'Bearer x', undefined]) {
      const refused = await token('grant_type=client_credentials', authorization);
      assert.equal(refused.status, 401, String(authorization));
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
      assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="Veritrail"');
    }
    assert.equal((await token('{"grant_type":"client_credentials"}', basic(account.clientId, account.clientSecret), 'application/json')).status, 400);
    const ok = await token('grant_type=client_credentials', basic(account.clientId, account.clientSecret));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
  });
});

describe('Digest rules with hand-made requests', () => {
  /** A request to the auditLog of `projectId`, returning status, challenge and body. */
  async function get(vt: Built, projectId: string, authorization?: string) {
    const response = await vt.app.inject({ method: 'GET', url: `/api/atlas/v2/groups/${projectId}/auditLog`, headers: { accept: V2, ...(authorization ? { authorization } : {}) } });
    return { status: response.statusCode, challenge: parseChallenge(response.headers['www-authenticate']), body: response.body };
  }

  it('a replayed nc is refused; a later nc on the same nonce is not; each is judged per nonce', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const { publicKey, privateKey } = await atlasKey(vt, p.id);
    const { nonce } = (await get(vt, p.id)).challenge;
    const uri = `/api/atlas/v2/groups/${p.id}/auditLog`;
    const answer = (nc: number, n = nonce) => digestAuthorization({ username: publicKey, password: privateKey, method: 'GET', uri, nonce: n, nc });
    const first = answer(5);
    assert.equal((await get(vt, p.id, first)).status, 200);
    const replayed = await get(vt, p.id, first);
    assert.equal(replayed.status, 401);
    assert.equal(replayed.challenge.stale, 'false');
    assert.equal((await get(vt, p.id, answer(4))).status, 401, 'a smaller nc');
    assert.equal((await get(vt, p.id, answer(9))).status, 200, 'a larger one, with a gap');
    assert.equal((await get(vt, p.id, digestAuthorization({ username: publicKey, password: privateKey, method: 'PATCH', uri, nonce, nc: 10 }))).status, 401, 'signed for another method');
    assert.equal((await get(vt, p.id, digestAuthorization({ username: publicKey, password: privateKey, method: 'GET', uri: `${uri}?pretty=true`, nonce, nc: 11 }))).status, 401, 'signed for another uri');
  });

  it('on nodes sharing PostgreSQL, a request replayed to another node is refused there; a later nc is not', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, async (t) => {
    const a = await build(t, { engine: 'postgres' });
    const b = await build(t, { storeUrl: a.node.config.storeUrl, checkpointKey: a.node.config.checkpointKey, serverSecret: a.node.config.serverSecret });
    const p = await a.project();
    const { publicKey, privateKey } = await atlasKey(a, p.id);
    const { nonce } = (await get(a, p.id)).challenge;
    const uri = `/api/atlas/v2/groups/${p.id}/auditLog`;
    const answer = (nc: number) => digestAuthorization({ username: publicKey, password: privateKey, method: 'GET', uri, nonce, nc });
    const first = answer(1);
    assert.equal((await get(a, p.id, first)).status, 200);
    assert.equal((await get(b, p.id, first)).status, 401, 'the same request, captured and sent to the other node');
    assert.equal((await get(b, p.id, answer(2))).status, 200, 'the client going on through the other node');
    assert.equal((await get(a, p.id, answer(2))).status, 401, 'and that one replayed to the first');
  });

  it('an expired nonce answered correctly gets stale=true (not a failed authentication); the fresh nonce works', async (t) => {
    let now = Date.now();
    const vt = await build(t, { clock: { now: () => now } });
    const p = await vt.project();
    const { publicKey, privateKey } = await atlasKey(vt, p.id);
    const uri = `/api/atlas/v2/groups/${p.id}/auditLog`;
    const { nonce } = (await get(vt, p.id)).challenge;
    now += 5 * 60_000 + 1000;
    const systemBefore = await vt.node.store.treeSize(vt.node.systemProjectId);
    const stale = await get(vt, p.id, digestAuthorization({ username: publicKey, password: privateKey, method: 'GET', uri, nonce }));
    assert.equal(stale.status, 401);
    assert.equal(stale.challenge.stale, 'true');
    assert.notEqual(stale.challenge.nonce, nonce);
    assert.equal(await vt.node.store.treeSize(vt.node.systemProjectId), systemBefore, 'a stale nonce is not a failed sign-in');
    const wrong = await get(vt, p.id, digestAuthorization({ username: publicKey, password: 'nope', method: 'GET', uri, nonce: stale.challenge.nonce }));
    assert.equal(wrong.challenge.stale, 'false');
    assert.equal(await vt.node.store.treeSize(vt.node.systemProjectId), systemBefore + 1, 'a wrong key is');
    assert.equal((await get(vt, p.id, digestAuthorization({ username: publicKey, password: privateKey, method: 'GET', uri, nonce: stale.challenge.nonce }))).status, 200);
  });

  it('only atlas keys answer Digest: a native key and a service account secret are refused', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const account = await serviceAccount(vt, p.id);
    const { nonce } = (await get(vt, p.id)).challenge;
    const uri = `/api/atlas/v2/groups/${p.id}/auditLog`;
    const native = (await vt.node.store.listKeys(p.id)).find((k) => k.role === 'PROJECT_OWNER')!;
    assert.equal((await get(vt, p.id, digestAuthorization({ username: native.id, password: p.owner, method: 'GET', uri, nonce, nc: 1 }))).status, 401);
    assert.equal((await get(vt, p.id, digestAuthorization({ username: account.keyId, password: account.clientSecret, method: 'GET', uri, nonce, nc: 2 }))).status, 401);
  });
});
