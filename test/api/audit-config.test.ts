/**
 * The native audit configuration (GET/PATCH /v1/projects/{id}/audit-config) and what it does to
 * ingest: nothing dropped by default, `recorded: false` receipts, MongoDB audit messages taken as
 * they are, bad filters refused with the stored configuration untouched, every change recorded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Built } from '../helpers/app.ts';
import { parseEnvelope } from '../../src/core/envelope.ts';
import { mongoAuditMessage } from '../helpers/events.ts';

async function events(vt: Built, projectId: string): Promise<Array<Record<string, any>>> {
  const size = await vt.node.store.treeSize(projectId);
  return (await vt.node.store.readEntries(projectId, 0, size)).map((e) => parseEnvelope(e.envelope).event as Record<string, any>);
}

const MONGO_AUTH = mongoAuditMessage('authenticate', { user: 'auditAdmin', db: 'test', mechanism: 'SCRAM-SHA-256' });
const AUTH_CHECK_OK = { ...MONGO_AUTH, atype: 'authCheck', param: { command: 'find', ns: 'test.orders', args: {} } };

describe('native audit configuration', () => {
  it('a never-configured project shows NONE and records everything, successful authCheck included', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const got = await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/audit-config`);
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), { enabled: true, auditAuthorizationSuccess: true, configurationType: 'NONE', version: 0, updatedAt: null });
    const posted = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [MONGO_AUTH, AUTH_CHECK_OK, { eventName: 'PutRule' }]);
    assert.equal(posted.statusCode, 201);
    assert.deepEqual(posted.json<Array<{ index: number }>>().map((r) => r.index), [0, 1, 2]);
    assert.equal(vt.node.auditConfigs.policies.compilations, 0, 'nothing to compile');
  });

  it('MongoDB audit messages are accepted as they are and stored unchanged', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const posted = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, MONGO_AUTH);
    assert.equal(posted.statusCode, 201);
    assert.deepEqual((await events(vt, p.id))[0], MONGO_AUTH);
  });

  it('filters really filter: receipts in order, recorded: false for the dropped, nothing of them appended', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const patched = await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditFilter: '{"eventName": {"$in": ["PutRule", "DeleteAlarms"]}}' });
    assert.equal(patched.statusCode, 200);
    assert.equal(patched.json<{ configurationType: string }>().configurationType, 'FILTER_JSON');
    const sizeBefore = await vt.node.store.treeSize(p.id); // the change's own self-audit record
    const batch = [{ eventName: 'PutRule', n: 1 }, { eventName: 'DescribeRule', n: 2 }, { eventName: 'DeleteAlarms', n: 3 }, { eventID: 'mine', eventName: 'Other' }];
    const posted = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, batch);
    assert.equal(posted.statusCode, 201);
    const receipts = posted.json<Array<Record<string, unknown>>>();
    assert.equal(receipts[0]!.index, sizeBefore);
    assert.deepEqual(receipts[1], { eventId: receipts[1]!.eventId, recorded: false, reason: 'FILTER_NOT_MATCHED' });
    assert.equal(receipts[2]!.index, sizeBefore + 1);
    assert.deepEqual(receipts[3], { eventId: 'mine', recorded: false, reason: 'FILTER_NOT_MATCHED' });
    assert.deepEqual((await events(vt, p.id)).slice(sizeBefore).map((e) => e.n), [1, 3]);

    const single = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events?wait=checkpoint`, { eventName: 'DescribeRule' });
    assert.equal(single.statusCode, 200, 'nothing was created');
    assert.equal(single.json<{ recorded: boolean }>().recorded, false);
    assert.equal(await vt.node.store.treeSize(p.id), sizeBefore + 2);
    assert.equal(vt.node.auditConfigs.policies.compilations, 1, 'compiled once for the change, not per request');
  });

  it('enabled=false records nothing; the change itself is still recorded; enabling again records again', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { enabled: false });
    const size = await vt.node.store.treeSize(p.id);
    const dropped = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [{ a: 1 }, { a: 2 }]);
    assert.equal(dropped.statusCode, 200);
    assert.deepEqual(dropped.json<Array<{ reason: string }>>().map((r) => r.reason), ['AUDIT_DISABLED', 'AUDIT_DISABLED']);
    assert.equal(await vt.node.store.treeSize(p.id), size);
    await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { enabled: true });
    assert.equal(await vt.node.store.treeSize(p.id), size + 1, 'the change is self-audited, whatever the configuration');
    assert.equal((await events(vt, p.id)).at(-1)!.eventName, 'UpdateAuditConfig');
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 3 })).statusCode, 201);
  });

  it('a filter that does not parse is refused with 400, and the stored configuration stays as it was', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditFilter: '{"atype": "authenticate"}', auditAuthorizationSuccess: false });
    for (const auditFilter of ['{atype: ', '[1, 2]', '{"atype": {"$nope": 1}}']) {
      const refused = await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditFilter, enabled: false });
      assert.equal(refused.statusCode, 400, auditFilter);
      const body = refused.json<{ error: string; details: Array<{ field: string }> }>();
      assert.equal(body.error, 'BAD_REQUEST');
      assert.equal(body.details[0]!.field, 'auditFilter');
    }
    const state = (await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/audit-config`)).json<Record<string, unknown>>();
    assert.equal(state.version, 1);
    assert.equal(state.enabled, true);
    assert.equal(state.auditFilter, '{"atype": "authenticate"}');
    // The refused changes are self-audited as failures.
    const failures = (await events(vt, p.id)).filter((e) => e.errorCode === 'VT_ERR_AUDIT_FILTER_INVALID');
    assert.equal(failures.length, 3);
  });

  it('PATCH merges, history keeps every version with who made it, an empty PATCH writes nothing', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditFilter: '{"users.user": "tim"}\n' });
    await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditAuthorizationSuccess: 'false' }); // coerced like a query string
    const empty = await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, {});
    assert.equal(empty.json<{ version: number }>().version, 2);
    const echoed = await vt.call(vt.orgKey, 'PATCH', `/v1/projects/${p.id}/audit-config`, { ...empty.json<object>(), enabled: false });
    assert.equal(echoed.statusCode, 400, 'version and updatedAt are not fields of the configuration');
    await vt.call(vt.orgKey, 'PATCH', `/v1/projects/${p.id}/audit-config`, { enabled: false, configurationType: 'FILTER_BUILDER' });
    const history = (await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/audit-config/history`)).json<{ results: Array<Record<string, unknown>> }>().results;
    assert.deepEqual(
      history.map(({ version, enabled, auditFilter, auditAuthorizationSuccess, configurationType, via }) => ({ version, enabled, auditFilter, auditAuthorizationSuccess, configurationType, via })),
      [
        { version: 1, enabled: true, auditFilter: '{"users.user": "tim"}', auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', via: 'native' },
        { version: 2, enabled: true, auditFilter: '{"users.user": "tim"}', auditAuthorizationSuccess: false, configurationType: 'FILTER_JSON', via: 'native' },
        { version: 3, enabled: false, auditFilter: '{"users.user": "tim"}', auditAuthorizationSuccess: false, configurationType: 'FILTER_JSON', via: 'native' },
      ],
    );
    const keys = await vt.node.store.listKeys(null);
    assert.equal(history[2]!.changedBy, keys[0]!.id, 'the ORG_OWNER key made version 3');
  });

  it('a change written by another node sharing the store applies once the refresh interval has passed', async (t) => {
    let now = Date.now();
    const vt = await build(t, { clock: { now: () => now }, auditPolicyRefreshMs: 1000 });
    const p = await vt.project();
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 1 })).statusCode, 201);
    // Another node's write: straight into the shared store, not through this node's API.
    await vt.node.store.putSetting(p.id, 'audit-config', { enabled: false, auditAuthorizationSuccess: false, configurationType: 'FILTER_JSON' }, { ifVersion: 0 });
    now += 999;
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 2 })).statusCode, 201, 'within the interval: the version this node knew');
    now += 1;
    const dropped = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 3 });
    assert.equal(dropped.json<{ reason: string }>().reason, 'AUDIT_DISABLED');
  });

  it('only owners read or change it; a filter Veritrail does not evaluate carries a warning', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    for (const key of [p.writer, p.reader]) {
      assert.equal((await vt.call(key, 'GET', `/v1/projects/${p.id}/audit-config`)).statusCode, 403);
      assert.equal((await vt.call(key, 'PATCH', `/v1/projects/${p.id}/audit-config`, { enabled: false })).statusCode, 403);
    }
    const warned = await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/audit-config`, { auditFilter: '{"$where": "true"}' });
    assert.match(warned.json<{ warning: string }>().warning, /\$where/);
    assert.match((await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/audit-config`)).json<{ warning: string }>().warning, /matches no event/);
  });
});

describe('keys for the Atlas dialect', () => {
  it('atlas keys and service accounts are made through the keys API and listed with their names', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const atlas = (await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_OWNER', type: 'atlas', description: 'terraform' })).json<Record<string, string>>();
    assert.equal(atlas.type, 'atlas');
    assert.equal(atlas.publicKey, atlas.id);
    assert.equal(atlas.privateKey, atlas.key);
    const account = (await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_READ_ONLY', type: 'service-account' })).json<Record<string, string>>();
    assert.equal(account.clientId, `mdb_sa_id_${account.id}`);
    assert.equal(account.clientSecret, account.key);
    const native = (await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' })).json<Record<string, string>>();
    assert.deepEqual(Object.keys(native).sort(), ['createdAt', 'description', 'id', 'key', 'role'], 'native keys look as before');
    assert.equal((await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER', type: 'other' })).statusCode, 400);

    const listed = (await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/keys`)).json<{ results: Array<Record<string, string>> }>().results;
    const byId = new Map(listed.map((k) => [k.id, k]));
    assert.equal(byId.get(atlas.id!)!.publicKey, atlas.id);
    assert.equal(byId.get(account.id!)!.clientId, account.clientId);
    assert.ok(!JSON.stringify(listed).includes(atlas.key!) && !JSON.stringify(listed).includes(account.key!));

    // At rest: the SHA-256 hash, and the Digest HA1 only sealed; neither the key nor its HA1 in clear.
    const stored = (await vt.node.store.listKeys(p.id)).find((k) => k.id === atlas.id)!;
    assert.match(stored.digestHa1Sealed!, /^v1\./);
    const { digestHa1 } = await import('../../src/auth/digest.ts');
    const raw = JSON.stringify(stored);
    assert.ok(!raw.includes(atlas.key!) && !raw.includes(digestHa1(atlas.id!, atlas.key!)));
    // The self-audit record of the creation does not hold the secrets under their Atlas names.
    const log = JSON.stringify(await events(vt, p.id));
    assert.ok(!log.includes(atlas.key!) && !log.includes(account.key!));
  });
});
