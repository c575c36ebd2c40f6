/**
 * The Atlas auditing API (spec/atlas.md), in process: every status and error body of §4-§6,
 * negotiation, envelope and pretty, merge semantics, and the configuration really deciding what
 * is recorded. Authentication here is a service account's Bearer token; Digest with real clients
 * is in atlas-clients.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../../helpers/app.ts';
import { ENGINES } from '../../helpers/stores.ts';
import { accessToken, serviceAccount, V2 } from '../../helpers/atlas.ts';
import { parseEnvelope } from '../../../src/core/envelope.ts';

type Call = (method: string, url: string, options?: { body?: string | object; accept?: string | null; contentType?: string; token?: string | null }) => Promise<import('fastify').LightMyRequestResponse>;

async function setup(t: import('node:test').TestContext) {
  const vt = await build(t);
  const p = await vt.project();
  const owner = await accessToken(vt, p.id);
  const call: Call = (method, url, options = {}) => {
    const token = options.token === undefined ? owner : options.token;
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.accept !== null) headers.accept = options.accept ?? V2;
    if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    return vt.app.inject({ method: method as 'GET', url, headers, ...(options.body !== undefined ? { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}) });
  };
  return { vt, p, owner, call, v2: `/api/atlas/v2/groups/${p.id}/auditLog`, v1: `/api/atlas/v1.0/groups/${p.id}/auditLog` };
}

const ERROR_KEYS = ['detail', 'error', 'errorCode', 'parameters', 'reason'];

describe('Atlas auditLog: reading', () => {
  it('a never-configured project answers the recorded 78-byte body, in the resolved media type', async (t) => {
    const { call, v2, v1 } = await setup(t);
    const got = await call('GET', v2);
    assert.equal(got.statusCode, 200);
    assert.equal(got.body, '{"auditAuthorizationSuccess":false,"configurationType":"NONE","enabled":false}');
    assert.equal(got.headers['content-length'], '78');
    assert.equal(got.headers['content-type'], 'application/vnd.atlas.2023-01-01+json;charset=utf-8');
    for (const [name, value] of Object.entries({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'strict-origin-when-cross-origin' })) {
      assert.equal(got.headers[name], value);
    }
    const legacy = await call('GET', v1, { accept: 'application/json' });
    assert.equal(legacy.statusCode, 200);
    assert.equal(legacy.headers['content-type'], 'application/json');
    assert.equal(legacy.body, got.body);
  });

  it('negotiates v2 versions: any date from 2023-01-01 resolves to it; anything else is 406 INVALID_VERSION_DATE', async (t) => {
    const { call, v2, v1 } = await setup(t);
    for (const accept of [V2, 'application/vnd.atlas.2025-03-12+json', 'application/vnd.atlas.2024-08-05+json;q=0.9, application/json']) {
      const ok = await call('GET', v2, { accept });
      assert.equal(ok.statusCode, 200, accept);
      assert.equal(ok.headers['content-type'], 'application/vnd.atlas.2023-01-01+json;charset=utf-8');
    }
    for (const accept of ['application/json', '*/*', null, 'application/vnd.atlas.2022-12-31+json', 'application/vnd.atlas.2023-02-30+json', 'application/vnd.atlas.latest+json']) {
      const refused = await call('GET', v2, { accept });
      assert.equal(refused.statusCode, 406, String(accept));
      assert.equal(refused.body, '{"detail":"Invalid accept header or version date.","error":406,"errorCode":"INVALID_VERSION_DATE","parameters":[],"reason":"Not Acceptable"}');
      assert.equal(refused.headers['content-type'], 'application/json');
      assert.equal(refused.headers['x-error-code'], 'INVALID_VERSION_DATE');
    }
    for (const accept of ['application/json', '*/*', null]) assert.equal((await call('GET', v1, { accept })).statusCode, 200, `v1.0 ${accept}`);
  });

  it('envelope and pretty, on successes and on errors', async (t) => {
    const { call, v2 } = await setup(t);
    const wrapped = await call('GET', `${v2}?envelope=true`);
    assert.equal(wrapped.statusCode, 200);
    assert.equal(wrapped.body, '{"content":{"auditAuthorizationSuccess":false,"configurationType":"NONE","enabled":false},"status":200}');
    const pretty = await call('GET', `${v2}?pretty=true`);
    assert.equal(pretty.body, '{\n  "auditAuthorizationSuccess" : false,\n  "configurationType" : "NONE",\n  "enabled" : false\n}');
    assert.equal((await call('GET', `${v2}?pretty=yes&envelope=1`)).body, '{"auditAuthorizationSuccess":false,"configurationType":"NONE","enabled":false}', 'anything but true is false');
    const error = await call('GET', `${v2}?envelope=true`, { accept: 'application/json' });
    assert.equal(error.statusCode, 406);
    assert.equal(error.json<{ status: number; content: { errorCode: string } }>().status, 406);
    assert.equal(error.json<{ content: { errorCode: string } }>().content.errorCode, 'INVALID_VERSION_DATE');
  });
});

describe('Atlas auditLog: errors and the order of checks', () => {
  it('no credentials or bad ones: 401 with the Digest challenge, before anything else', async (t) => {
    const { call, v2 } = await setup(t);
    for (const token of [null, 'vtat_nope', `vtat_${'0'.repeat(24)}.9999999999.${'0'.repeat(32)}.${'A'.repeat(43)}`]) {
      const refused = await call('PATCH', `/api/atlas/v2/groups/NOT-AN-ID/auditLog`, { token, accept: 'application/json', body: '{' });
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.body, '{"detail":"You are not authorized for this resource.","error":401,"errorCode":"UNEXPECTED_ERROR","reason":"Unauthorized"}');
      assert.match(String(refused.headers['www-authenticate']), /^Digest realm="MMS Public API", domain="", nonce="[A-Za-z0-9+/]{32}", algorithm=MD5, qop="auth", stale=false$/);
      assert.equal(refused.headers['ratelimit-limit'], undefined);
    }
    assert.equal((await call('GET', v2, { token: null })).statusCode, 401);
  });

  it('a malformed group id is 404 INVALID_GROUP_ID; an unknown one 404 GROUP_NOT_FOUND', async (t) => {
    const { vt, call } = await setup(t);
    const upper = '32B6E34B3D91647ABB20E7B8';
    const malformed = await call('GET', `/api/atlas/v2/groups/${upper}/auditLog`);
    assert.equal(malformed.statusCode, 404);
    assert.deepEqual(malformed.json(), { detail: `An invalid group ID ${upper} was specified.`, error: 404, errorCode: 'INVALID_GROUP_ID', parameters: [upper], reason: 'Not Found' });
    const org = await accessToken(vt, null, 'ORG_OWNER');
    const unknown = 'f'.repeat(24);
    const missing = await call('GET', `/api/atlas/v2/groups/${unknown}/auditLog`, { token: org });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { detail: `No group with ID ${unknown} exists.`, error: 404, errorCode: 'GROUP_NOT_FOUND', parameters: [unknown], reason: 'Not Found' });
    assert.equal(missing.headers['x-error-code'], 'GROUP_NOT_FOUND');
    // A project's own key cannot probe other projects (the one deviation from §6's order).
    assert.equal((await call('GET', `/api/atlas/v2/groups/${unknown}/auditLog`)).json<{ errorCode: string }>().errorCode, 'USER_CANNOT_ACCESS_GROUP');
    assert.equal((await call('GET', `/api/atlas/v2/groups/${vt.node.systemProjectId}/auditLog`)).statusCode, 401, 'the system project');
  });

  it('a role below Project Owner is 401 USER_UNAUTHORIZED on both methods and both versions', async (t) => {
    const { vt, p, call, v2, v1 } = await setup(t);
    for (const role of ['PROJECT_READ_ONLY', 'PROJECT_WRITER'] as const) {
      const token = await accessToken(vt, p.id, role);
      for (const [method, url] of [['GET', v2], ['PATCH', v2], ['GET', v1], ['PATCH', v1]] as const) {
        const refused = await call(method, url, { token, accept: url === v1 ? 'application/json' : V2, body: method === 'PATCH' ? { enabled: false } : undefined });
        assert.equal(refused.statusCode, 401, `${role} ${method} ${url}`);
        assert.deepEqual(refused.json(), { detail: 'Current user is not authorized to perform this action.', error: 401, errorCode: 'USER_UNAUTHORIZED', parameters: [], reason: 'Unauthorized' });
      }
    }
    assert.equal((await call('GET', v2, { token: await accessToken(vt, null, 'ORG_OWNER') })).statusCode, 200, 'ORG_OWNER implies Project Owner');
    assert.equal((await vt.node.auditConfigs.current(p.id)).version, 0, 'nothing changed');
  });

  it('bad bodies: MALFORMED_JSON, INVALID_JSON, INVALID_ATTRIBUTE, INVALID_JSON_ATTRIBUTE (stored configuration untouched), 415', async (t) => {
    const { vt, p, call, v2 } = await setup(t);
    await call('PATCH', v2, { body: { enabled: true, auditFilter: '{"atype": "authenticate"}' } });
    const cases: Array<[string | object, string, unknown[]]> = [
      ['{"enabled": tru', 'MALFORMED_JSON', []],
      ['[]', 'MALFORMED_JSON', []],
      ['', 'MALFORMED_JSON', []],
      [{ enabled: 'yes' }, 'INVALID_JSON', []],
      [{ auditAuthorizationSuccess: 1 }, 'INVALID_JSON', []],
      [{ auditFilter: { atype: 'authenticate' } }, 'INVALID_JSON', []],
      [{ enabled: false, auditLevel: 'all' }, 'INVALID_ATTRIBUTE', ['auditLevel']],
      [{ enabled: false, auditFilter: '{atype: ' }, 'INVALID_JSON_ATTRIBUTE', ['auditFilter']],
      [{ enabled: false, auditFilter: '["authenticate"]' }, 'INVALID_JSON_ATTRIBUTE', ['auditFilter']],
    ];
    for (const [body, errorCode, parameters] of cases) {
      const refused = await call('PATCH', v2, { body });
      assert.equal(refused.statusCode, 400, JSON.stringify(body));
      const error = refused.json<Record<string, unknown>>();
      assert.equal(error.errorCode, errorCode, JSON.stringify(body));
      assert.deepEqual(error.parameters, parameters);
      assert.equal(error.reason, 'Bad Request');
      if (errorCode === 'INVALID_JSON_ATTRIBUTE') {
        assert.deepEqual(Object.keys(error), ['badRequestDetail', ...ERROR_KEYS]);
        assert.equal((error.badRequestDetail as { fields: Array<{ field: string }> }).fields[0]!.field, 'auditFilter');
      } else assert.deepEqual(Object.keys(error), ERROR_KEYS, 'keys in alphabetical order');
    }
    for (const contentType of ['application/vnd.atlas.2023-01-01+json; charset=utf-8', 'application/vnd.atlas.2025-03-12+json', 'application/json;charset=UTF-8']) {
      assert.equal((await call('PATCH', v2, { body: { enabled: true }, contentType })).statusCode, 202, contentType);
    }
    const text = await call('PATCH', v2, { body: 'enabled=false', contentType: 'text/plain' });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json<{ errorCode: string }>().errorCode, 'UNSUPPORTED_MEDIA_TYPE');
    const state = await vt.node.auditConfigs.current(p.id);
    assert.equal(state.version, 1);
    assert.deepEqual(state.config, { enabled: true, auditAuthorizationSuccess: false, configurationType: 'FILTER_JSON', auditFilter: '{"atype": "authenticate"}' });
  });

  it('other methods are 405 METHOD_NOT_ALLOWED; other paths 404 RESOURCE_NOT_FOUND', async (t) => {
    const { call, v2 } = await setup(t);
    const deleted = await call('DELETE', v2);
    assert.equal(deleted.statusCode, 405);
    assert.equal(deleted.json<{ errorCode: string }>().errorCode, 'METHOD_NOT_ALLOWED');
    const other = await call('GET', '/api/atlas/v2/groups');
    assert.equal(other.statusCode, 404);
    assert.equal(other.json<{ errorCode: string }>().errorCode, 'RESOURCE_NOT_FOUND');
  });
});

describe('Atlas auditLog: changing it', () => {
  it('PATCH answers 202 with the merged resource on v2 (200 on v1.0), and merges partial bodies', async (t) => {
    const { call, v2, v1 } = await setup(t);
    const observed = await call('PATCH', v2, { body: { enabled: true, auditAuthorizationSuccess: true, auditFilter: '{"atype": "authenticate"}' } });
    assert.equal(observed.statusCode, 202);
    assert.equal(observed.headers['content-type'], 'application/vnd.atlas.2023-01-01+json;charset=utf-8');
    assert.equal(observed.body, '{"auditAuthorizationSuccess":true,"auditFilter":"{\\"atype\\": \\"authenticate\\"}","configurationType":"FILTER_JSON","enabled":true}');
    const partial = await call('PATCH', v2, { body: { auditAuthorizationSuccess: false } });
    assert.deepEqual(partial.json(), { auditAuthorizationSuccess: false, auditFilter: '{"atype": "authenticate"}', configurationType: 'FILTER_JSON', enabled: true });
    const legacy = await call('PATCH', v1, { accept: 'application/json', body: { enabled: false } });
    assert.equal(legacy.statusCode, 200);
    assert.equal(legacy.json<{ enabled: boolean }>().enabled, false);
    assert.equal((await call('GET', v2)).json<{ enabled: boolean }>().enabled, false);
  });

  it('boolean strings, a trimmed file body, a single-quoted filter echoed verbatim, configurationType ignored', async (t) => {
    const { call, v2 } = await setup(t);
    assert.equal((await call('PATCH', v2, { body: { enabled: 'TRUE' } })).json<{ enabled: boolean }>().enabled, true);
    assert.equal((await call('PATCH', v2, { body: '{"enabled":"false"}' })).json<{ enabled: boolean }>().enabled, false, "Terraform's delete");
    const file = '{\n  "atype": "authenticate",\n  "param": {\n    "user": "auditAdmin",\n    "db": "admin",\n    "mechanism": "SCRAM-SHA-1"\n  }\n}\n';
    assert.equal((await call('PATCH', v2, { body: { auditFilter: file } })).json<{ auditFilter: string }>().auditFilter, file.trimEnd());
    const quoted = "{ 'atype': 'authenticate', 'param': { 'user': 'auditAdmin', 'db': 'admin', 'mechanism': 'SCRAM-SHA-1' }}";
    const echoed = await call('PATCH', v2, { body: { auditFilter: quoted, configurationType: 'FILTER_BUILDER' } });
    assert.equal(echoed.statusCode, 202);
    assert.deepEqual(echoed.json(), { auditAuthorizationSuccess: false, auditFilter: quoted, configurationType: 'FILTER_JSON', enabled: false });
    assert.equal((await call('PATCH', v2, { body: { auditFilter: '{}', enabled: false } })).json<{ configurationType: string }>().configurationType, 'FILTER_JSON');
  });

  it('an empty PATCH changes nothing, not even a never-configured project', async (t) => {
    const { vt, p, call, v2 } = await setup(t);
    const empty = await call('PATCH', v2, { body: {} });
    assert.equal(empty.statusCode, 202);
    assert.equal(empty.body, '{"auditAuthorizationSuccess":false,"configurationType":"NONE","enabled":false}');
    assert.equal((await vt.node.auditConfigs.current(p.id)).version, 0);
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 1 })).statusCode, 201, 'still records everything');
  });

  it('the configuration decides what is recorded: a filter alone on a new project leaves auditing off, as on Atlas', async (t) => {
    const { vt, p, call, v2 } = await setup(t);
    const filter = await call('PATCH', v2, { body: { auditFilter: '{"atype": "authenticate", "param.db": "test"}' } });
    assert.equal(filter.json<{ enabled: boolean }>().enabled, false, "merged onto Atlas's never-configured defaults");
    const authenticate = { atype: 'authenticate', ts: { $date: '2026-08-10T03:04:49.123Z' }, users: [{ user: 'a', db: 'test' }], param: { user: 'a', db: 'test', mechanism: 'SCRAM-SHA-256' }, result: 0 };
    const other = { ...authenticate, param: { ...authenticate.param, db: 'admin' } };
    const off = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [authenticate, other]);
    assert.deepEqual(off.json<Array<{ reason: string }>>().map((r) => r.reason), ['AUDIT_DISABLED', 'AUDIT_DISABLED']);
    await call('PATCH', v2, { body: { enabled: true } });
    const on = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [authenticate, other]);
    const [kept, dropped] = on.json<Array<Record<string, unknown>>>();
    assert.equal(typeof kept!.index, 'number');
    assert.deepEqual(dropped, { eventId: dropped!.eventId, recorded: false, reason: 'FILTER_NOT_MATCHED' });
  });

  it('each change is self-audited in the project\'s log; a Digest challenge is not, a refused credential is', async (t) => {
    const { vt, p, call, v2 } = await setup(t);
    await call('PATCH', v2, { body: { enabled: true, auditFilter: '{"atype": "authenticate"}' } });
    await call('PATCH', v2, { body: { auditFilter: '{' } });
    const systemBefore = await vt.node.store.treeSize(vt.node.systemProjectId);
    await call('PATCH', v2, { token: null, body: { enabled: false } });
    await call('PATCH', v2, { token: 'vtat_forged', body: { enabled: false } });
    const size = await vt.node.store.treeSize(p.id);
    const records = (await vt.node.store.readEntries(p.id, 0, size)).map((e) => parseEnvelope(e.envelope).event as Record<string, any>);
    const changes = records.filter((r) => r.eventName === 'UpdateAuditConfig');
    assert.equal(changes.length, 2);
    assert.deepEqual(changes[0]!.requestParameters, { groupId: p.id, enabled: true, auditFilter: '{"atype": "authenticate"}' });
    assert.equal(changes[0]!.responseElements.configurationType, 'FILTER_JSON');
    assert.equal(changes[1]!.errorCode, 'VT_ERR_AUDIT_FILTER_INVALID');
    const system = await vt.node.store.readEntries(vt.node.systemProjectId, systemBefore, await vt.node.store.treeSize(vt.node.systemProjectId));
    assert.deepEqual(system.map((e) => (parseEnvelope(e.envelope).event as Record<string, any>).errorCode), ['VT_ERR_AUTH_INVALID'], 'only the refused token, not the challenge');
    assert.equal((await vt.node.auditConfigs.history(p.id)).at(-1)!.change!.via, 'atlas-v2');
  });
});

describe('Atlas OAuth: revoking tokens', () => {
  it('with the deny list full, refuses 503 temporarily_unavailable and Retry-After until its first token expires', async (t) => {
    let now = Date.now();
    const vt = await build(t, { maxRevokedTokens: 1, clock: { now: () => now } });
    const p = await vt.project();
    const account = await serviceAccount(vt, p.id);
    const oauth = (path: string, payload: string) =>
      vt.app.inject({
        method: 'POST',
        url: `/api/oauth/${path}`,
        headers: { authorization: `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    const token = async () => (await oauth('token', 'grant_type=client_credentials')).json<{ access_token: string }>().access_token;
    const first = await token();
    assert.equal((await oauth('revoke', `token=${first}`)).statusCode, 200);
    now += 600_000;
    const second = await token();
    const refused = await oauth('revoke', `token=${second}`);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '3000', 'the first revoked token expires in 50 minutes');
    assert.equal(refused.json<{ error: string }>().error, 'temporarily_unavailable');
    now += 3_000_000;
    assert.equal((await oauth('revoke', `token=${second}`)).statusCode, 200, 'once it has expired, there is room');
  });

  it('a token revoked through one node is refused at once by another sharing the store, and after a restart', { skip: !ENGINES.includes('postgres') && 'PostgreSQL is not among VERITRAIL_TEST_ENGINES' }, async (t) => {
    const a = await build(t, { engine: 'postgres' });
    const shared = { storeUrl: a.node.config.storeUrl, checkpointKey: a.node.config.checkpointKey, serverSecret: a.node.config.serverSecret };
    const b = await build(t, shared);
    const p = await a.project();
    const account = await serviceAccount(a, p.id);
    const basic = `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64')}`;
    const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };
    const token = (await a.app.inject({ method: 'POST', url: '/api/oauth/token', headers: form, payload: 'grant_type=client_credentials' })).json<{ access_token: string }>().access_token;
    const read = async (vt: Built) => (await vt.app.inject({ method: 'GET', url: `/api/atlas/v2/groups/${p.id}/auditLog`, headers: { authorization: `Bearer ${token}`, accept: V2 } })).statusCode;
    assert.equal(await read(b), 200, 'a token one node issued works on the other');
    assert.equal((await a.app.inject({ method: 'POST', url: '/api/oauth/revoke', headers: form, payload: `token=${token}` })).statusCode, 200);
    assert.equal(await read(b), 401, 'revoked through a: refused by b on its next request');
    assert.equal(await read(a), 401);
    const restarted = await build(t, shared);
    assert.equal(await read(restarted), 401, 'a node started afterwards refuses it too');
  });
});
