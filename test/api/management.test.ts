/** Projects, keys and roles (spec/api.md "Projects and keys", "Roles"), and operations routes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';

describe('projects and keys', () => {
  it('ORG_OWNER creates projects; each key sees only what its role allows', async (t) => {
    const vt = await build(t);
    const created = await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: 'payments' });
    assert.equal(created.statusCode, 201);
    const project = created.json<{ id: string; name: string; createdAt: string; logOrigin: string }>();
    assert.match(project.id, /^[0-9a-f]{24}$/);
    assert.equal(project.logOrigin, `veritrail.test/v1/projects/${project.id}/log`);
    assert.deepEqual(Object.keys(project).sort(), ['createdAt', 'id', 'logOrigin', 'name']);

    const p = await vt.project('second');
    const list = await vt.call(vt.orgKey, 'GET', '/v1/projects');
    assert.equal(list.json<{ totalCount: number }>().totalCount, 3, 'two projects and the system project');
    const own = await vt.call(p.reader, 'GET', '/v1/projects');
    assert.deepEqual(own.json<{ results: Array<{ id: string }> }>().results.map((r) => r.id), [p.id]);

    assert.equal((await vt.call(p.owner, 'POST', '/v1/projects', { name: 'x' })).statusCode, 403, 'only ORG_OWNER creates projects');
    assert.equal((await vt.call(p.writer, 'GET', `/v1/projects/${p.id}`)).statusCode, 200);
    assert.equal((await vt.call(p.writer, 'GET', `/v1/projects/${project.id}`)).statusCode, 403, "another project's key");
    assert.equal((await vt.call(vt.orgKey, 'GET', `/v1/projects/${'f'.repeat(24)}`)).statusCode, 404);
    assert.equal((await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: '' })).statusCode, 400);
    assert.equal((await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: 'n', extra: 1 })).statusCode, 400);
  });

  it('keys are shown once, stored as hashes, listed without secrets, and a revoked key fails on its next request', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const created = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_READ_ONLY', description: 'dashboard' });
    assert.equal(created.statusCode, 201);
    const key = created.json<{ id: string; role: string; description: string; createdAt: string; key: string }>();
    assert.match(key.key, /^vt_[A-Za-z0-9_-]{43}$/);
    assert.equal(key.role, 'PROJECT_READ_ONLY');

    const listed = await vt.call(p.owner, 'GET', `/v1/projects/${p.id}/keys`);
    const mine = listed.json<{ results: Array<Record<string, unknown>> }>().results.find((k) => k.id === key.id)!;
    assert.deepEqual(Object.keys(mine).sort(), ['createdAt', 'description', 'id', 'lastUsedAt', 'role']);
    assert.ok(!listed.body.includes(key.key), 'the list never shows a key');
    const stored = await vt.node.store.listKeys(p.id);
    assert.ok(!JSON.stringify(stored).includes(key.key), 'the store holds only hashes');

    assert.equal((await vt.call(key.key, 'GET', `/v1/projects/${p.id}/log/checkpoint`)).statusCode, 200);
    assert.equal((await vt.call(p.owner, 'DELETE', `/v1/projects/${p.id}/keys/${key.id}`)).statusCode, 204);
    assert.equal((await vt.call(key.key, 'GET', `/v1/projects/${p.id}/log/checkpoint`)).statusCode, 401, 'revoked: fails at once');
    assert.equal((await vt.call(p.owner, 'DELETE', `/v1/projects/${p.id}/keys/${key.id}`)).statusCode, 404);

    for (const role of ['ORG_OWNER', 'ADMIN']) {
      assert.equal((await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/keys`, { role })).statusCode, 400, role);
    }
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' })).statusCode, 403);
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/keys`)).statusCode, 403);
  });

  it('the role table: writers write, readers read, owners do both', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const events = `/v1/projects/${p.id}/events`;
    const read = `/v1/projects/${p.id}/log/checkpoint`;
    const expect: Array<[string, string, string, number]> = [
      ['writer', 'POST', events, 201],
      ['writer', 'GET', read, 403],
      ['reader', 'POST', events, 403],
      ['reader', 'GET', read, 200],
      ['owner', 'POST', events, 201],
      ['owner', 'GET', read, 200],
      ['org', 'POST', events, 201],
      ['org', 'GET', read, 200],
    ];
    const keys: Record<string, string> = { writer: p.writer, reader: p.reader, owner: p.owner, org: vt.orgKey };
    for (const [who, method, url, status] of expect) {
      const response = await vt.call(keys[who], method, url, method === 'POST' ? { who } : undefined);
      assert.equal(response.statusCode, status, `${who} ${method} ${url}`);
    }
  });

  it('only ORG_OWNER reaches the system project', async (t) => {
    const vt = await build(t);
    const system = await vt.node.createProject('system', { system: true });
    const { key } = (await vt.call(vt.orgKey, 'POST', `/v1/projects/${system.id}/keys`, { role: 'PROJECT_OWNER' })).json<{ key: string }>();
    assert.equal((await vt.call(key, 'GET', `/v1/projects/${system.id}/log/checkpoint`)).statusCode, 403);
    assert.equal((await vt.call(vt.orgKey, 'GET', `/v1/projects/${system.id}/log/checkpoint`)).statusCode, 200);
  });
});

describe('operations', () => {
  it('echoes a plain X-Request-Id, replaces a hostile one, and makes one otherwise', async (t) => {
    const vt = await build(t);
    const given = await vt.call(undefined, 'GET', '/healthz', undefined, { 'x-request-id': 'req-123' });
    assert.equal(given.headers['x-request-id'], 'req-123');
    const hostile = await vt.call(undefined, 'GET', '/healthz', undefined, { 'x-request-id': 'a\nforged log line' });
    assert.notEqual(hostile.headers['x-request-id'], 'a\nforged log line');
    const made = await vt.call(undefined, 'GET', '/nope');
    assert.equal(made.statusCode, 404);
    assert.match(String(made.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(made.json<{ error: string }>().error, 'NOT_FOUND');
  });

  it('healthz, readyz and the OpenAPI document', async (t) => {
    const vt = await build(t);
    assert.equal((await vt.call(undefined, 'GET', '/healthz')).statusCode, 200);
    assert.equal((await vt.call(undefined, 'GET', '/readyz')).statusCode, 200);
    const openapi = (await vt.call(undefined, 'GET', '/openapi.json')).json<{ openapi: string; paths: Record<string, unknown> }>();
    assert.equal(openapi.openapi, '3.1.0');
    for (const path of ['/v1/projects', '/v1/projects/{projectId}/events', '/v1/projects/{projectId}/log/proof/inclusion', '/v1/log/key']) {
      assert.ok(openapi.paths[path], path);
    }
  });
});
