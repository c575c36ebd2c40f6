/**
 * The per-key rate limit: 429 RATE_LIMITED with Retry-After once a key has used its requests,
 * other keys unaffected, scopes registered later (dialects) covered in their own error format.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { rateLimitKey } from '../../src/api/rate-limit.ts';
import { VT_ERR_RATE_LIMITED } from '../../src/core/errors.ts';
import { toVeritrailError } from '../../src/api/errors.ts';

describe('rate limit', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a key has made its requests, per key', async (t) => {
    const vt = await build(t, { rateLimitPerMinute: 3 });
    const p = await vt.project(); // one request of the org key
    const checkpoint = `/v1/projects/${p.id}/log/checkpoint`;
    for (let i = 0; i < 3; i++) assert.equal((await vt.call(p.reader, 'GET', checkpoint)).statusCode, 200);
    const refused = await vt.call(p.reader, 'GET', checkpoint, undefined, { 'x-request-id': 'too-many' });
    assert.equal(refused.statusCode, 429);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${refused.headers['retry-after']}`);
    assert.equal(refused.headers['x-request-id'], 'too-many');
    const body = refused.json<{ error: string; message: string }>();
    assert.deepEqual(Object.keys(body).sort(), ['error', 'message']);
    assert.equal(body.error, 'RATE_LIMITED');
    assert.equal(body.message, new VT_ERR_RATE_LIMITED(retryAfter).message);

    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { a: 1 })).statusCode, 201, 'another key has its own budget');
    // Without a key, the client's address is the bucket.
    for (let i = 0; i < 3; i++) assert.equal((await vt.call(undefined, 'GET', '/healthz')).statusCode, 200);
    assert.equal((await vt.call(undefined, 'GET', '/healthz')).statusCode, 429);
  });

  it('a throttled change is not recorded: the limiter sheds load before anything is looked at', async (t) => {
    const vt = await build(t, { rateLimitPerMinute: 2 });
    await vt.call(vt.orgKey, 'GET', '/v1/projects');
    await vt.call(vt.orgKey, 'GET', '/v1/projects');
    const size = await vt.node.store.treeSize(vt.node.systemProjectId);
    assert.equal((await vt.call(vt.orgKey, 'POST', '/v1/projects', { name: 'throttled' })).statusCode, 429);
    assert.equal(await vt.node.store.treeSize(vt.node.systemProjectId), size);
    assert.equal((await vt.node.store.listProjects()).length, 1, 'and nothing was created');
  });

  it('covers scopes registered later, each answering in its own error format', async (t) => {
    const vt = await build(t, { rateLimitPerMinute: 1 });
    // A scope with its own error format, registered after the app is built, as a dialect is.
    await vt.app.register(
      async (dialect) => {
        dialect.setErrorHandler((error, request, reply) => {
          const mapped = toVeritrailError(error, request);
          void reply.code(mapped.statusCode).headers(mapped.headers ?? {}).send({ __type: mapped.code === 'VT_ERR_RATE_LIMITED' ? 'ThrottlingException' : mapped.code });
        });
        dialect.post('/', { config: { access: 'public', operation: 'LookupEvents', audit: 'read' } }, async () => ({ Events: [] }));
      },
      { prefix: '/dialect-fixture' },
    );
    const headers = { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=' };
    assert.equal((await vt.call(undefined, 'POST', '/dialect-fixture', {}, { ...headers, authorization: headers.authorization + 'a'.repeat(64) })).statusCode, 200);
    const refused = await vt.call(undefined, 'POST', '/dialect-fixture', {}, { ...headers, authorization: headers.authorization + 'b'.repeat(64) });
    assert.equal(refused.statusCode, 429, 'a new signature from the same access key id is the same client');
    assert.deepEqual(refused.json(), { __type: 'ThrottlingException' });
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });

  it('0 turns it off', async (t) => {
    const vt = await build(t, { rateLimitPerMinute: 0 });
    for (let i = 0; i < 5; i++) assert.equal((await vt.call(undefined, 'GET', '/healthz')).statusCode, 200);
  });

  it('counts by a hash of the credential, never the credential itself', () => {
    const key = `vt_${'K'.repeat(43)}`;
    const bucket = rateLimitKey({ headers: { authorization: `Bearer ${key}` }, ip: '127.0.0.1' });
    assert.ok(!bucket.includes(key) && !bucket.includes('KKKK'));
    assert.equal(bucket, rateLimitKey({ headers: { authorization: `bearer  ${key}` }, ip: '10.0.0.9' }), 'the same key from anywhere');
    assert.notEqual(bucket, rateLimitKey({ headers: { authorization: `Bearer vt_${'L'.repeat(43)}` }, ip: '127.0.0.1' }));
    const digest = (nonce: string) => rateLimitKey({ headers: { authorization: `Digest username="ABCDEF", realm="MMS Public API", nonce="${nonce}", response="x"` }, ip: '127.0.0.1' });
    assert.equal(digest('n1'), digest('n2'), 'Digest: the user, not the nonce');
    assert.equal(rateLimitKey({ headers: {}, ip: '192.0.2.1' }), 'address:192.0.2.1');
  });
});
