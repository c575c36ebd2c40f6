/**
 * The server's own log: pino JSON lines, one access line per request carrying its request id,
 * and never a secret, whatever the clients send and wherever they put it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { build } from '../helpers/app.ts';

/** A stream that keeps every line written to it. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop()!;
      lines.push(...parts);
      done();
    },
  });
  return { stream, lines };
}

const ANY_KEY = /vt_[A-Za-z0-9_-]{43}/;

describe('logs', () => {
  it('are JSON lines with request ids, one access line per request, and hold no key or credential', async (t) => {
    const { stream, lines } = capture();
    const vt = await build(t, { log: { level: 'info', stream } });
    const requestIds: string[] = [];
    const call = async (...args: Parameters<typeof vt.call>) => {
      const response = await vt.call(...args);
      requestIds.push(String(response.headers['x-request-id']));
      return response;
    };

    const project = (await call(vt.orgKey, 'POST', '/v1/projects', { name: 'logged' })).json<{ id: string }>().id;
    const created = await call(vt.orgKey, 'POST', `/v1/projects/${project}/keys`, { role: 'PROJECT_WRITER', description: 'logged' });
    const writer = created.json<{ key: string }>().key;
    const events = `/v1/projects/${project}/events`;
    assert.equal((await call(writer, 'POST', events, { eventName: 'Login', note: `the key is ${writer}` })).statusCode, 201);
    assert.equal((await call(writer, 'POST', events, '{"a":1}\n{"b":2}\n', { 'content-type': 'application/x-ndjson' })).statusCode, 201);
    const secrets = [vt.orgKey, writer, `vt_${'B'.repeat(43)}`, 'not-a-veritrail-key-s3cr3t', 'dXNlcjpzM2NyM3Q=', 'hunter2pw'];
    // Credentials refused in every way, and keys where no key belongs.
    assert.equal((await call(secrets[2], 'POST', events, { a: 1 })).statusCode, 401);
    assert.equal((await call(secrets[3], 'GET', `/v1/projects/${project}/keys`)).statusCode, 401);
    assert.equal((await call(undefined, 'GET', '/v1/projects', undefined, { authorization: `Basic ${secrets[4]}` })).statusCode, 401);
    assert.equal((await call(undefined, 'GET', `/v1/nope?api_key=${vt.orgKey}`)).statusCode, 404);
    assert.equal((await call(vt.orgKey, 'GET', `/v1/projects/${writer}`)).statusCode, 400, 'a key where a project id belongs');
    // V8's JSON.parse quotes the text it could not parse in its error message.
    assert.equal((await call(writer, 'POST', events, `${writer} is not JSON`, { 'content-type': 'application/json' })).statusCode, 400);
    assert.equal((await call(vt.orgKey, 'POST', '/v1/projects', 'hunter2pw', { 'content-type': 'application/json' })).statusCode, 400);
    const forged = await call(undefined, 'GET', '/healthz', undefined, { 'x-request-id': vt.orgKey });
    assert.notEqual(forged.headers['x-request-id'], vt.orgKey, 'a key is never taken as a request id');

    await vt.app.close();
    const parsed = lines.map((line) => {
      assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${line}`);
      return JSON.parse(line) as Record<string, unknown>;
    });
    for (const line of lines) {
      assert.doesNotMatch(line, ANY_KEY, `no key in ${line}`);
      for (const secret of secrets) assert.ok(!line.includes(secret), `no credential in ${line}`);
      assert.doesNotMatch(line, /authorization"\s*:/i, 'no Authorization header is logged');
    }
    const access = parsed.filter((l) => l.msg === 'request');
    assert.deepEqual(access.map((l) => l.reqId), requestIds, 'one access line per request, with its X-Request-Id');
    for (const line of access) {
      for (const field of ['method', 'url', 'status', 'ms', 'level', 'time']) assert.ok(field in line, `${field} in ${JSON.stringify(line)}`);
      assert.ok(!String(line.url).includes('?'), 'no query string is logged');
    }
    // Every line about a request (access lines, refusals, errors) names its request.
    for (const line of parsed.filter((l) => 'code' in l || 'err' in l || 'status' in l || 'url' in l)) {
      assert.ok(requestIds.includes(String(line.reqId)), `request id in ${JSON.stringify(line)}`);
    }
    assert.ok(parsed.some((l) => l.code === 'VT_ERR_AUTH_INVALID'), 'refusals are logged, by code');
  });

  it('a key that reaches a log line anyway is cut before the line is written', async (t) => {
    const { stream, lines } = capture();
    const vt = await build(t, { log: { level: 'info', stream } });
    vt.app.log.info({ detail: `Bearer abc.def and ${vt.orgKey}` }, `carelessly logged ${vt.orgKey}`);
    await vt.app.close();
    const line = lines.find((l) => l.includes('carelessly'))!;
    assert.deepEqual(JSON.parse(line).detail, 'HIDDEN_DUE_TO_SECURITY_REASONS and HIDDEN_DUE_TO_SECURITY_REASONS');
    assert.doesNotMatch(line, ANY_KEY);
  });
});
