/**
 * Self-audit: every management call, every export and every failed authentication leaves
 * exactly one CloudTrail-style record (spec/cloudtrail.md §4), in the right log, with no secret
 * anywhere; and a call whose record cannot be committed is not acknowledged.
 */
import { serviceAccount } from '../helpers/atlas.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { build, storeKey, type Built } from '../helpers/app.ts';
import { parseEnvelope } from '../../src/core/envelope.ts';
import { selfAuditRecord } from '../../src/api/self-audit/record.ts';
import { REDACTED, withoutSecrets } from '../../src/api/redact.ts';
import type { LogAppend } from '../../src/store/store.ts';

type AuditRecord = Record<string, any>;

/** The events of a project's log, as parsed objects. */
async function records(vt: Built, projectId: string): Promise<AuditRecord[]> {
  const size = await vt.node.store.treeSize(projectId);
  return (await vt.node.store.readEntries(projectId, 0, size)).map((e) => parseEnvelope(e.envelope).event as AuditRecord);
}

/** Every log's size, by project id. */
async function sizes(vt: Built): Promise<Map<string, number>> {
  const projects = await vt.node.store.listProjects();
  return new Map(await Promise.all(projects.map(async (p) => [p.id, await vt.node.store.treeSize(p.id)] as const)));
}

/**
 * The self-audit records added to every log since `before`, by project id (logs that gained
 * none are left out; ingested events are not records).
 */
async function recordsSince(vt: Built, before: Map<string, number>): Promise<Map<string, AuditRecord[]>> {
  const added = new Map<string, AuditRecord[]>();
  for (const [projectId, size] of await sizes(vt)) {
    const from = before.get(projectId) ?? 0;
    const mine = size > from ? (await records(vt, projectId)).slice(from).filter((r) => r.eventSource === 'veritrail.api') : [];
    if (mine.length > 0) added.set(projectId, mine);
  }
  return added;
}

/** The raw bytes of every log, for secret scans. */
async function everyLogText(vt: Built): Promise<string> {
  const parts: string[] = [];
  for (const [projectId, size] of await sizes(vt)) {
    parts.push(...(await vt.node.store.readEntries(projectId, 0, size)).map((e) => e.envelope.toString('utf8')));
  }
  return parts.join('\n');
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_KEY = /vt_[A-Za-z0-9_-]{43}/;

/** Field by field, the types spec/cloudtrail.md §4 gives, and the values this call must produce. */
function assertRecord(
  record: AuditRecord,
  expected: { eventName: string; region: string; requestId: string; readOnly: boolean; errorCode?: string; userAgent?: string },
): void {
  const where = `${expected.eventName} (${expected.requestId})`;
  assert.equal(record.eventVersion, '1.11', where);
  assert.equal(typeof record.userIdentity, 'object', where);
  assert.equal(typeof record.userIdentity.type, 'string', where);
  assert.match(record.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, where);
  assert.equal(record.eventSource, 'veritrail.api', where);
  assert.equal(record.eventName, expected.eventName, where);
  assert.equal(record.awsRegion, expected.region, where);
  assert.equal(typeof record.sourceIPAddress, 'string', where);
  assert.ok(record.sourceIPAddress.length > 0, where);
  if (expected.userAgent !== undefined) assert.equal(record.userAgent, expected.userAgent, where);
  for (const field of ['requestParameters', 'responseElements']) {
    assert.ok(field in record, `${where}: ${field} is present (null when empty)`);
    assert.ok(record[field] === null || (typeof record[field] === 'object' && !Array.isArray(record[field])), `${where}: ${field} is an object or null`);
  }
  if (expected.readOnly || expected.errorCode) assert.equal(record.responseElements, null, `${where}: no responseElements for reads and failures`);
  assert.equal(record.requestID, expected.requestId, where);
  assert.match(record.eventID, GUID, where);
  assert.equal(record.readOnly, expected.readOnly, where);
  assert.equal(record.eventType, 'AwsApiCall', where);
  assert.equal(record.eventCategory, 'Management', where);
  assert.equal(record.managementEvent, true, where);
  if (expected.errorCode) {
    assert.equal(record.errorCode, expected.errorCode, where);
    assert.equal(typeof record.errorMessage, 'string', where);
  } else {
    assert.ok(!('errorCode' in record) && !('errorMessage' in record), `${where}: no error fields on success`);
  }
}

/** Runs one call and returns the one record it left, and where; fails unless there is exactly one. */
async function onlyRecord(vt: Built, call: () => Promise<LightMyRequestResponse>): Promise<{ response: LightMyRequestResponse; log: string; record: AuditRecord }> {
  const before = await sizes(vt);
  const response = await call();
  const added = [...(await recordsSince(vt, before))];
  assert.equal(added.flatMap(([, r]) => r).length, 1, `exactly one record for ${response.statusCode} ${response.body.slice(0, 200)}: ${JSON.stringify(added)}`);
  const [log, [record]] = added[0]! as [string, AuditRecord[]];
  return { response, log, record: record! };
}

/** Runs one call and fails if it left any record anywhere. */
async function noRecord(vt: Built, call: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
  const before = await sizes(vt);
  const response = await call();
  assert.deepEqual([...(await recordsSince(vt, before))], [], `no record for ${response.statusCode}`);
  return response;
}

/**
 * One row per audited operation of the app. The test below compares this table with the route
 * table, so a route added with `audit` set (a dialect's configuration API, say) fails here
 * until it gets a row proving its record.
 */
interface Setup {
  vt: Built;
  project: { id: string; owner: string };
  keyId: string;
  /** Secrets a row's call creates or shows (client secrets, tokens), checked absent from every log. */
  secrets: string[];
  /** Two webhook destinations of the project: one to read and change, one to delete. */
  destinations: { kept: string; doomed: string };
}

/** A webhook's HMAC secret: write-only, and never in any log. */
const WEBHOOK_SECRET = 'webhook-hmac-secret-0123456789';

/** An OAuth exchange with a new service account of the project, as an Atlas client makes it. */
async function oauth(s: Setup, headers: Record<string, string>, path: '/api/oauth/token' | '/api/oauth/revoke'): Promise<LightMyRequestResponse> {
  const account = await serviceAccount(s.vt, s.project.id);
  s.secrets.push(account.clientSecret);
  let payload = 'grant_type=client_credentials';
  if (path === '/api/oauth/revoke') {
    // A token issued directly, so that the revocation is the call's only record.
    const { accessToken } = s.vt.node.accessTokens.issue((await s.vt.node.store.findKeyById(account.keyId))!);
    s.secrets.push(accessToken);
    payload = `token=${accessToken}&token_type_hint=access_token`;
  }
  const basic = Buffer.from(`${account.clientId}:${account.clientSecret}`).toString('base64');
  const response = await s.vt.app.inject({ method: 'POST', url: path, headers: { ...headers, authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, payload });
  if (path === '/api/oauth/token' && response.statusCode === 200) s.secrets.push(response.json<{ access_token: string }>().access_token);
  return response;
}
/** An event every setup ingests first, for the calls that read one. */
const AUDITED_EVENT = 'audited-event-1';
type Row = { log: 'system' | 'project'; readOnly: boolean; call(s: Setup, headers: Record<string, string>): Promise<LightMyRequestResponse> };
const MANAGEMENT_CALLS: Record<string, Row> = {
  CreateProject: { log: 'system', readOnly: false, call: (s, h) => s.vt.call(s.vt.orgKey, 'POST', '/v1/projects', { name: 'audited' }, h) },
  ListProjects: { log: 'system', readOnly: true, call: (s, h) => s.vt.call(s.vt.orgKey, 'GET', '/v1/projects', undefined, h) },
  GetProject: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}`, undefined, h) },
  CreateKey: {
    log: 'project',
    readOnly: false,
    call: (s, h) => s.vt.call(s.project.owner, 'POST', `/v1/projects/${s.project.id}/keys`, { role: 'PROJECT_WRITER', description: 'ci' }, h),
  },
  ListKeys: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/keys`, undefined, h) },
  DeleteKey: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'DELETE', `/v1/projects/${s.project.id}/keys/${s.keyId}`, undefined, h) },
  ExportEvents: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/export`, undefined, h) },
  SearchEvents: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/events?limit=5`, undefined, h) },
  GetEvent: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/events/${AUDITED_EVENT}`, undefined, h) },
  GetAuditConfig: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/audit-config`, undefined, h) },
  UpdateAuditConfig: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'PATCH', `/v1/projects/${s.project.id}/audit-config`, { enabled: true }, h) },
  ListAuditConfigVersions: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/audit-config/history`, undefined, h) },
  CreateAccessToken: { log: 'project', readOnly: false, call: (s, h) => oauth(s, h, '/api/oauth/token') },
  RevokeAccessToken: { log: 'project', readOnly: false, call: (s, h) => oauth(s, h, '/api/oauth/revoke') },
  ListDestinations: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/destinations`, undefined, h) },
  CreateDestination: {
    log: 'project',
    readOnly: false,
    call: (s, h) => s.vt.call(s.project.owner, 'POST', `/v1/projects/${s.project.id}/destinations`, { kind: 'webhook', url: 'http://127.0.0.1:9/a', secret: WEBHOOK_SECRET, enabled: false }, h),
  },
  GetDestination: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/destinations/${s.destinations.kept}`, undefined, h) },
  UpdateDestination: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'PATCH', `/v1/projects/${s.project.id}/destinations/${s.destinations.kept}`, { name: 'renamed' }, h) },
  GetDestinationStatus: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', `/v1/projects/${s.project.id}/destinations/${s.destinations.kept}/status`, undefined, h) },
  DeleteDestination: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'DELETE', `/v1/projects/${s.project.id}/destinations/${s.destinations.doomed}`, undefined, h) },
  // Qumulo (spec/qumulo.md): a project key is accepted as the cluster's bearer token.
  audit_get_cloudwatch_config: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', '/v1/audit/cloudwatch/config', undefined, h) },
  audit_modify_cloudwatch_config: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'PATCH', '/v1/audit/cloudwatch/config', { enabled: false }, h) },
  audit_get_cloudwatch_status: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', '/v1/audit/cloudwatch/status', undefined, h) },
  audit_get_syslog_config: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', '/v1/audit/syslog/config', undefined, h) },
  audit_modify_syslog_config: { log: 'project', readOnly: false, call: (s, h) => s.vt.call(s.project.owner, 'PATCH', '/v1/audit/syslog/config', { enabled: false }, h) },
  audit_get_syslog_status: { log: 'project', readOnly: true, call: (s, h) => s.vt.call(s.project.owner, 'GET', '/v1/audit/syslog/status', undefined, h) },
};

describe('self-audit', () => {
  it('the table of management calls covers every audited route of the app', async (t) => {
    const vt = await build(t);
    await vt.app.ready();
    const audited = new Set(
      vt.app.routeTable.filter((r) => ['change', 'read', 'export'].includes(r.config?.audit ?? '')).map((r) => r.config!.operation!),
    );
    assert.deepEqual([...audited].sort(), Object.keys(MANAGEMENT_CALLS).sort());
  });

  it('every management call leaves exactly one record, in the right log, with the CloudTrail fields', async (t) => {
    const vt = await build(t, { region: 'eu-west-1', auditReads: true });
    const p = await vt.project();
    const { record: keyRecord, secret } = await storeKey(vt.node, 'PROJECT_READ_ONLY', p.id, 'to delete');
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { eventId: AUDITED_EVENT, eventName: 'Seen' })).statusCode, 201);
    const destination = async () => {
      const created = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/destinations`, { kind: 'webhook', url: 'http://127.0.0.1:9/b', secret: WEBHOOK_SECRET, enabled: false });
      assert.equal(created.statusCode, 201, created.body);
      return created.json<{ id: string }>().id;
    };
    const setup: Setup = { vt, project: p, keyId: keyRecord.id, secrets: [WEBHOOK_SECRET], destinations: { kept: await destination(), doomed: await destination() } };
    const shown: string[] = [secret, vt.orgKey, p.owner];
    for (const [operation, row] of Object.entries(MANAGEMENT_CALLS)) {
      const requestId = `req-${operation}`;
      const { response, log, record } = await onlyRecord(vt, () => row.call(setup, { 'x-request-id': requestId, 'user-agent': 'audit-test/1.0' }));
      assert.ok(response.statusCode < 300, `${operation}: ${response.statusCode} ${response.body}`);
      assert.equal(log, row.log === 'system' ? vt.node.systemProjectId : p.id, `${operation} is recorded in the ${row.log} log`);
      assertRecord(record, { eventName: operation, region: 'eu-west-1', requestId, readOnly: row.readOnly, userAgent: 'audit-test/1.0' });
      assert.equal(record.userIdentity.type, 'IAMUser');
      assert.match(record.userIdentity.accessKeyId, /^[0-9a-f]{24}$/, 'the key id, never the key');
      if (operation === 'CreateKey') {
        const created = response.json<{ id: string; key: string }>();
        shown.push(created.key);
        assert.equal(record.responseElements.id, created.id);
        assert.equal(record.responseElements.key, REDACTED);
        assert.deepEqual(record.requestParameters, { projectId: p.id, role: 'PROJECT_WRITER', description: 'ci' });
      }
      if (operation === 'CreateProject') assert.equal(record.responseElements.id, response.json<{ id: string }>().id);
      if (operation === 'DeleteKey') assert.deepEqual(record.requestParameters, { projectId: p.id, keyId: keyRecord.id });
    }
    const text = await everyLogText(vt);
    for (const key of [...shown, ...setup.secrets]) assert.ok(!text.includes(key), 'no key, secret or token, new or used, reaches any log');
    assert.doesNotMatch(text, ANY_KEY);
  });

  it('reads are recorded only with --audit-reads; ingest and the log itself never', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    for (const operation of ['ListProjects', 'GetProject', 'ListKeys']) {
      await noRecord(vt, () => MANAGEMENT_CALLS[operation]!.call({ vt, project: p, keyId: 'none', secrets: [], destinations: { kept: 'none', doomed: 'none' } }, {}));
    }
    const ingested = await noRecord(vt, () => vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { eventName: 'Login' }));
    assert.equal(ingested.statusCode, 201);
    const audited = await build(t, { auditReads: true });
    const q = await audited.project();
    await noRecord(audited, () => audited.call(q.reader, 'GET', `/v1/projects/${q.id}/log/checkpoint`));
    await noRecord(audited, () => audited.call(q.reader, 'GET', `/v1/projects/${q.id}/log/proof/consistency?from=0`));
  });

  it('every failed authentication leaves exactly one record, in the system log, with no trace of the credential', async (t) => {
    const vt = await build(t, { region: 'ap-south-1' });
    const p = await vt.project();
    const revoked = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' });
    const revokedKey = revoked.json<{ id: string; key: string }>();
    assert.equal((await vt.call(p.owner, 'DELETE', `/v1/projects/${p.id}/keys/${revokedKey.id}`)).statusCode, 204);

    const refused: Array<[string, string, string]> = [
      ['an unknown key', `Bearer vt_${'Z'.repeat(43)}`, 'VT_ERR_AUTH_INVALID'],
      ['a revoked key', `Bearer ${revokedKey.key}`, 'VT_ERR_AUTH_INVALID'],
      ['a token that is not a key', 'Bearer not-a-veritrail-key-s3cr3t', 'VT_ERR_AUTH_INVALID'],
      ['the wrong scheme', 'Basic dXNlcjpwYXNzd29yZA==', 'VT_ERR_AUTH_MISSING'],
      ['a key without a scheme', revokedKey.key, 'VT_ERR_AUTH_MISSING'],
    ];
    const routes: Array<[string, string, string, unknown]> = [
      ['PutEvents', 'POST', `/v1/projects/${p.id}/events`, { a: 1 }],
      ['GetCheckpoint', 'GET', `/v1/projects/${p.id}/log/checkpoint`, undefined],
      ['CreateKey', 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' }],
      ['CreateProject', 'POST', '/v1/projects', { name: 'x' }],
      ['audit_get_syslog_config', 'GET', '/v1/audit/syslog/config', undefined],
      ['audit_modify_syslog_config', 'PATCH', '/v1/audit/syslog/config', { enabled: false }],
    ];
    let n = 0;
    for (const [what, authorization, code] of refused) {
      for (const [operation, method, url, body] of routes) {
        const requestId = `fail-${n++}`;
        const { response, log, record } = await onlyRecord(vt, () => vt.call(undefined, method, url, body, { authorization, 'x-request-id': requestId }));
        assert.equal(response.statusCode, 401, `${what} on ${operation}`);
        assert.equal(log, vt.node.systemProjectId, `${what} on ${operation} goes to the system log`);
        assertRecord(record, { eventName: operation, region: 'ap-south-1', requestId, readOnly: method === 'GET', errorCode: code });
        assert.deepEqual(record.userIdentity, { type: 'Unknown' });
      }
    }
    const text = await everyLogText(vt);
    assert.doesNotMatch(text, ANY_KEY);
    for (const [, authorization] of refused) assert.ok(!text.includes(authorization.replace(/^\w+ /, '')), 'refused credentials are never recorded');
  });

  it('missing credentials are a failed change where the route changes something, and nothing elsewhere', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    // No credentials at all: nobody failed to authenticate, but a change was attempted and refused.
    const create = await onlyRecord(vt, () => vt.call(undefined, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' }, { 'x-request-id': 'anon-key' }));
    assert.equal(create.response.statusCode, 401);
    assert.equal(create.log, p.id, 'a refused change of a project is recorded in that project');
    assertRecord(create.record, { eventName: 'CreateKey', region: 'local', requestId: 'anon-key', readOnly: false, errorCode: 'VT_ERR_AUTH_MISSING' });
    const project = await onlyRecord(vt, () => vt.call(undefined, 'POST', '/v1/projects', { name: 'x' }));
    assert.equal(project.log, vt.node.systemProjectId);
    await noRecord(vt, () => vt.call(undefined, 'POST', `/v1/projects/${p.id}/events`, { a: 1 }));
    await noRecord(vt, () => vt.call(undefined, 'GET', `/v1/projects/${p.id}/keys`));
  });

  it('a refused change by an authenticated key is one record with its error, in the project', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const { response, log, record } = await onlyRecord(vt, () => vt.call(p.writer, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' }, { 'x-request-id': 'denied' }));
    assert.equal(response.statusCode, 403);
    assert.equal(log, p.id);
    assertRecord(record, { eventName: 'CreateKey', region: 'local', requestId: 'denied', readOnly: false, errorCode: 'VT_ERR_FORBIDDEN_ROLE' });
    assert.equal(record.userIdentity.userName, 'PROJECT_WRITER');
  });

  it('secrets are hidden wherever they appear in a call: member names, values, parser errors', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const pasted = await onlyRecord(vt, () =>
      vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER', description: `replaces ${p.writer} for Bearer abc.def` }),
    );
    assert.equal(pasted.response.statusCode, 201);
    assert.equal(pasted.record.requestParameters.description, `replaces ${REDACTED} for ${REDACTED}`);
    assert.equal(pasted.record.responseElements.description, `replaces ${REDACTED} for ${REDACTED}`);
    // V8's JSON.parse quotes the text it could not parse; the record's errorMessage must not.
    const garbled = await onlyRecord(vt, () => vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, `${p.owner} is not JSON`, { 'content-type': 'application/json' }));
    assert.equal(garbled.response.statusCode, 400);
    assert.equal(garbled.record.errorCode, 'VT_ERR_BODY_NOT_JSON');
    assert.doesNotMatch(garbled.record.errorMessage, ANY_KEY);
    assert.doesNotMatch(await everyLogText(vt), ANY_KEY);
  });

  it('redaction: secret members at any depth, secret-shaped values, and the size caps of spec/cloudtrail.md §4', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const cleaned = JSON.parse(JSON.stringify(withoutSecrets({
      name: 'kept',
      keyId: 'kept',
      publicKey: 'kept',
      accessKeyId: 'kept',
      auditAuthorizationSuccess: true,
      key: 's',
      apiKey: 's',
      'x-api-key': 's',
      password: 's',
      passphrase: 's',
      clientSecret: 's',
      privateKey: 's',
      rsaPrivateKey: 's',
      signingKey: 's',
      hmacKey: 's',
      sessionToken: 's',
      credentials: { user: 's' },
      nested: [{ Authorization: 's', headers: { cookie: 's' }, note: pem, other: 'Bearer abc' }],
    }))) as Record<string, any>;
    for (const kept of ['name', 'keyId', 'publicKey', 'accessKeyId']) assert.equal(cleaned[kept], 'kept', kept);
    assert.equal(cleaned.auditAuthorizationSuccess, true, "Atlas's config flag is not a secret");
    for (const hidden of ['key', 'apiKey', 'x-api-key', 'password', 'passphrase', 'clientSecret', 'privateKey', 'rsaPrivateKey', 'signingKey', 'hmacKey', 'sessionToken', 'credentials']) {
      assert.equal(cleaned[hidden], REDACTED, hidden);
    }
    assert.deepEqual(cleaned.nested, [{ Authorization: REDACTED, headers: { cookie: REDACTED }, note: REDACTED, other: REDACTED }]);

    const call = { eventName: 'CreateThing', readOnly: false, principal: undefined, sourceIp: '127.0.0.1', userAgent: undefined, requestId: 'r', region: 'local', timeMs: 0, responseElements: null };
    const huge = selfAuditRecord({ ...call, requestParameters: { blob: 'x'.repeat(101 * 1024) } });
    assert.equal(huge.requestParameters, null, 'requestParameters over 100 KB are left out');
    assert.ok(huge.additionalEventData, 'and the record says so');
    const failed = selfAuditRecord({ ...call, requestParameters: {}, error: { code: 'VT_ERR_X', message: `${'y'.repeat(1010)} vt_${'a'.repeat(43)}` } });
    assert.ok((failed.errorMessage as string).length <= 1024);
    assert.ok(!(failed.errorMessage as string).includes('vt_a'), 'scrubbed before it is cut, so no half key remains');
  });

  it('a call whose record cannot be committed is not acknowledged: 503 VT_ERR_AUDIT_NOT_COMMITTED, no secret shown', async (t) => {
    let refuseRecords = false;
    const isRecord = (appends: readonly LogAppend[]) => appends.some((a) => a.entries.some((e) => e.envelope.includes('"eventSource":"veritrail.api"')));
    const vt = await build(t, {
      sequencerHooks: {
        beforeCommit(appends) {
          if (refuseRecords && isRecord(appends)) throw new Error('injected: the disk is full');
        },
      },
    });
    const p = await vt.project();
    refuseRecords = true;

    const key = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' }, { 'x-request-id': 'lost-record' });
    assert.equal(key.statusCode, 503);
    assert.deepEqual(Object.keys(key.json()).sort(), ['error', 'message']);
    assert.equal(key.json<{ error: string }>().error, 'UNAVAILABLE');
    assert.match(key.json<{ message: string }>().message, /self-audit record could not be committed \(request lost-record\)/);
    assert.doesNotMatch(key.body, ANY_KEY, 'the new key is withheld with the answer');
    // The change itself stood (the error says so): the key exists, unseen by anyone.
    assert.equal((await vt.node.store.listKeys(p.id)).length, 4);

    const login = await vt.call(`vt_${'Q'.repeat(43)}`, 'GET', `/v1/projects/${p.id}/log/checkpoint`);
    assert.equal(login.statusCode, 503, 'a failed login whose record is lost is not answered 401 either');
    const project = await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: 'unrecorded' });
    assert.equal(project.statusCode, 503);
    // Ingest is not self-audited, so it is not held hostage by the records.
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 1 })).statusCode, 201);

    refuseRecords = false;
    const again = await onlyRecord(vt, () => vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' }));
    assert.equal(again.response.statusCode, 201, 'once records commit again, calls are acknowledged again');
  });
});
