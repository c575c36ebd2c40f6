/**
 * Self-audit: every change through the management API, every export and every failed
 * authentication leaves exactly one CloudTrail-style record, in the right log, with no secret.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../helpers/app.ts';
import { parseEnvelope } from '../../src/core/envelope.ts';

/** The events of a project's log, as parsed objects. */
async function records(vt: Built, projectId: string): Promise<Array<Record<string, any>>> {
  const size = await vt.node.store.treeSize(projectId);
  return (await vt.node.store.readEntries(projectId, 0, size)).map((e) => parseEnvelope(e.envelope).event as Record<string, any>);
}

const CLOUDTRAIL_FIELDS = ['eventVersion', 'userIdentity', 'eventTime', 'eventSource', 'eventName', 'awsRegion', 'sourceIPAddress', 'requestParameters', 'responseElements', 'requestID', 'eventID', 'readOnly', 'eventType'];

describe('self-audit', () => {
  it('records each management change once, in the right log, with CloudTrail fields and no secret', async (t) => {
    const vt = await build(t, { region: 'eu-west-1' });
    const system = vt.node.systemProjectId;
    const created = await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: 'audited' }, { 'user-agent': 'test-agent/1.0', 'x-request-id': 'req-create' });
    const projectId = created.json<{ id: string }>().id;
    const key = await vt.call(vt.orgKey, 'POST', `/v1/projects/${projectId}/keys`, { role: 'PROJECT_WRITER', description: 'ci' }, { 'x-request-id': 'req-key' });
    const { id: keyId, key: secret } = key.json<{ id: string; key: string }>();
    await vt.call(vt.orgKey, 'DELETE', `/v1/projects/${projectId}/keys/${keyId}`, undefined, { 'x-request-id': 'req-delete' });
    await vt.call(vt.orgKey, 'GET', `/v1/projects/${projectId}/keys`); // a read: not recorded by default
    await vt.call(vt.orgKey, 'GET', `/v1/projects/${projectId}/export`, undefined, { 'x-request-id': 'req-export' });

    const systemRecords = await records(vt, system);
    assert.deepEqual(systemRecords.map((r) => r.eventName), ['CreateProject']);
    const create = systemRecords[0]!;
    for (const field of CLOUDTRAIL_FIELDS) assert.ok(field in create, field);
    assert.equal(create.eventSource, 'veritrail.api');
    assert.equal(create.awsRegion, 'eu-west-1');
    assert.equal(create.userAgent, 'test-agent/1.0');
    assert.equal(create.requestID, 'req-create');
    assert.equal(create.readOnly, false);
    assert.equal(create.eventType, 'AwsApiCall');
    assert.match(create.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(create.requestParameters, { name: 'audited' });
    assert.equal(create.responseElements.id, projectId);
    assert.equal(create.userIdentity.type, 'IAMUser');
    assert.equal(create.userIdentity.userName, 'ORG_OWNER');

    const projectRecords = await records(vt, projectId);
    assert.deepEqual(projectRecords.map((r) => r.eventName), ['CreateKey', 'DeleteKey', 'ExportEvents']);
    const [createKey, deleteKey, exported] = projectRecords as [Record<string, any>, Record<string, any>, Record<string, any>];
    assert.equal(createKey.responseElements.key, 'HIDDEN_DUE_TO_SECURITY_REASONS');
    assert.equal(createKey.responseElements.id, keyId);
    assert.deepEqual(deleteKey.requestParameters, { projectId, keyId });
    assert.equal(deleteKey.responseElements, null);
    assert.equal(exported.readOnly, true);
    assert.equal(exported.requestID, 'req-export');
    for (const log of [system, projectId]) {
      const size = await vt.node.store.treeSize(log);
      const raw = (await vt.node.store.readEntries(log, 0, size)).map((e) => e.envelope.toString()).join('\n');
      assert.ok(!raw.includes(secret), 'the new key never reaches the log');
      assert.ok(!raw.includes(vt.orgKey), 'the caller key never reaches the log');
    }
  });

  it('records failed calls with errorCode, and every failed authentication in the system log', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const before = (await records(vt, vt.node.systemProjectId)).length;
    const bogus = 'vt_' + 'Z'.repeat(43);
    await vt.call(bogus, 'POST', `/v1/projects/${p.id}/events`, { a: 1 });
    await vt.call(bogus, 'POST', '/v1/projects', { name: 'x' });
    await vt.call(undefined, 'GET', `/v1/projects/${p.id}/keys`, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
    await vt.call(undefined, 'GET', `/v1/projects/${p.id}/keys`); // no credentials at all: not a failed authentication
    const failures = (await records(vt, vt.node.systemProjectId)).slice(before);
    assert.deepEqual(failures.map((r) => [r.eventName, r.errorCode, r.userIdentity.type]), [
      ['PutEvents', 'VT_ERR_AUTH_INVALID', 'Unknown'],
      ['CreateProject', 'VT_ERR_AUTH_INVALID', 'Unknown'],
      ['ListKeys', 'VT_ERR_AUTH_MISSING', 'Unknown'],
    ]);
    const raw = JSON.stringify(failures);
    assert.ok(!raw.includes(bogus) && !raw.includes('dXNlcjpwYXNz'), 'refused credentials are not recorded');

    // A refused change by an authenticated key: one record, in the project's log, with the error.
    const sizeBefore = await vt.node.store.treeSize(p.id);
    const refused = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' });
    assert.equal(refused.statusCode, 403);
    const [denied] = (await records(vt, p.id)).slice(sizeBefore);
    assert.equal(denied!.eventName, 'CreateKey');
    assert.equal(denied!.errorCode, 'VT_ERR_FORBIDDEN_ROLE');
    assert.equal(denied!.userIdentity.userName, 'PROJECT_WRITER');
    assert.equal(denied!.responseElements, null);
    assert.equal((await records(vt, p.id)).length, sizeBefore + 1);
  });

  it('records reads of the management API only when asked to', async (t) => {
    const vt = await build(t, { auditReads: true });
    const p = await vt.project();
    const size = await vt.node.store.treeSize(p.id);
    await vt.call(vt.orgKey, 'GET', `/v1/projects/${p.id}/keys`);
    await vt.call(vt.orgKey, 'GET', `/v1/projects/${p.id}/log/checkpoint`); // the log itself is data, not management
    const added = (await records(vt, p.id)).slice(size);
    assert.deepEqual(added.map((r) => [r.eventName, r.readOnly, r.responseElements]), [['ListKeys', true, null]]);
  });
});
