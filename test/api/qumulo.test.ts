/**
 * The Qumulo Core audit destination API (spec/qumulo.md): login, ETag/If-Match round trips and
 * 412, every validation error, privileges, self-audit under Qumulo's operation names, and the
 * two forwarders' status documents against a local syslog listener and the local CloudWatch
 * Logs protocol double. The vendor's own clients are not available; curl is the real client.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { build, type Built } from '../helpers/app.ts';
import { startCloudWatchLogsDouble } from '../helpers/cloudwatch-logs-double.ts';
import { ensureDebianTool } from '../helpers/debian.ts';
import { startSyslogListener } from '../helpers/syslog-listener.ts';
import { waitUntil } from '../helpers/wait.ts';
import { parseEnvelope } from '../../src/core/envelope.ts';

const CW = '/v1/audit/cloudwatch/config';
const SYSLOG = '/v1/audit/syslog/config';

async function loginToken(vt: Built, keyId: string, key: string): Promise<string> {
  const response = await vt.call(undefined, 'POST', '/v1/session/login', { username: keyId, password: key });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().bearer_token;
}

/** A project key made through the API, so its id is known. */
async function projectKey(vt: Built, projectId: string, role: string): Promise<{ id: string; key: string }> {
  const response = await vt.call(vt.orgKey, 'POST', `/v1/projects/${projectId}/keys`, { role });
  return response.json();
}

describe('Qumulo audit destination API', () => {
  it('logs in with a key id and key, serves the documented defaults with an ETag, and accepts Veritrail keys directly', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const owner = await projectKey(vt, p.id, 'PROJECT_OWNER');
    const token = await loginToken(vt, owner.id, owner.key);
    assert.ok(!token.includes(owner.key), 'the token does not show the key');
    const cw = await vt.call(token, 'GET', CW);
    assert.equal(cw.statusCode, 200, cw.body);
    assert.equal(cw.headers.etag, '"0"');
    assert.deepEqual(cw.json(), { region: '', enabled: false, log_group_name: '' });
    const syslog = await vt.call(p.owner, 'GET', SYSLOG);
    assert.deepEqual(syslog.json(), { enabled: false, server_address: '', server_port: 514, local_enabled: false, format: 'csv' });
    assert.deepEqual((await vt.call(token, 'GET', '/v1/audit/syslog/status')).json(), { connection_status: 'AUDIT_LOG_DISABLED' });
    assert.deepEqual((await vt.call(token, 'GET', '/v1/audit/cloudwatch/status')).json(), { node_statuses: { '1': { last_seen_error: null } } });

    const wrong = await vt.call(undefined, 'POST', '/v1/session/login', { username: owner.id, password: p.owner });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error_class, 'auth_error');
    assert.equal((await vt.call(undefined, 'GET', CW)).statusCode, 401);
    assert.equal((await vt.call('vts1.forged.token.value', 'GET', CW)).json().error_class, 'auth_error');
    // An ORG_OWNER key has no project: it names the cluster's.
    assert.equal((await vt.call(vt.orgKey, 'GET', CW)).statusCode, 400);
    assert.equal((await vt.call(vt.orgKey, 'GET', CW, undefined, { 'x-veritrail-project': p.id })).statusCode, 200);
    // Revoking the key ends its sessions at once.
    await vt.call(vt.orgKey, 'DELETE', `/v1/projects/${p.id}/keys/${owner.id}`);
    assert.equal((await vt.call(token, 'GET', CW)).statusCode, 401);
  });

  it('PATCH merges, PUT replaces; ETag/If-Match round trips, 412 changes nothing, and concurrent PATCHes with one ETag give one 200 and one 412', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const patch = (body: unknown, headers: Record<string, string> = {}) => vt.call(p.owner, 'PATCH', CW, body, headers);
    let response = await patch({ region: 'us-west-2' });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers.etag, '"1"');
    assert.deepEqual(response.json(), { region: 'us-west-2', enabled: false, log_group_name: '' });
    response = await patch({ log_group_name: 'my-cluster-log-group' }, { 'if-match': '"1"' });
    assert.equal(response.headers.etag, '"2"');
    assert.deepEqual(response.json(), { region: 'us-west-2', enabled: false, log_group_name: 'my-cluster-log-group' });

    const stale = await patch({ enabled: true }, { 'if-match': '"1"' });
    assert.equal(stale.statusCode, 412);
    assert.equal(stale.json().error_class, 'http_precondition_failed_error');
    assert.match(stale.json().description, /^ETag mismatch/);
    assert.equal((await vt.call(p.owner, 'GET', CW)).json().enabled, false, 'a 412 changes nothing');
    assert.equal((await patch({ enabled: true }, { 'if-match': 'W/"2"' })).statusCode, 412, 'weak tags never match');
    response = await patch({ enabled: true }, { 'if-match': '"9", "2"' });
    assert.equal(response.statusCode, 200, 'a list matches if any entry does');
    assert.equal((await patch({ enabled: false }, { 'if-match': '*' })).statusCode, 200);
    const put = await vt.call(p.owner, 'PUT', CW, { enabled: false, region: 'eu-central-1', log_group_name: 'g2' }, { 'if-match': '"4"' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.headers.etag, '"5"');
    assert.deepEqual(put.json(), { enabled: false, region: 'eu-central-1', log_group_name: 'g2' });
    const read = await vt.call(p.reader, 'GET', CW);
    assert.equal(read.headers.etag, '"5"');

    const race = await Promise.all([patch({ region: 'us-east-1' }, { 'if-match': '"5"' }), patch({ region: 'us-east-2' }, { 'if-match': '"5"' })]);
    assert.deepEqual(race.map((r) => r.statusCode).sort(), [200, 412]);

    // Syslog: the older bindings' PUT without format and local_enabled keeps their values.
    const syslog = await vt.call(p.owner, 'PUT', SYSLOG, { enabled: false, server_address: '203.0.113.10', server_port: 514 });
    assert.equal(syslog.statusCode, 200, syslog.body);
    assert.deepEqual(syslog.json(), { enabled: false, server_address: '203.0.113.10', server_port: 514, local_enabled: false, format: 'csv' });
    const json = await vt.call(p.owner, 'PATCH', SYSLOG, { format: 'json', local_enabled: true }, { 'if-match': syslog.headers.etag as string });
    assert.deepEqual(json.json(), { enabled: false, server_address: '203.0.113.10', server_port: 514, local_enabled: true, format: 'json' });

    // Every change is in the project's log under Qumulo's operation names; a 412 is recorded as failed.
    const size = await vt.node.store.treeSize(p.id);
    const records = (await vt.node.store.readEntries(p.id, 0, size)).map((e) => parseEnvelope(e.envelope).event as Record<string, any>);
    assert.deepEqual([...new Set(records.map((r) => r.eventName))].sort(), ['audit_modify_cloudwatch_config', 'audit_modify_syslog_config']);
    assert.ok(records.some((r) => r.eventName === 'audit_modify_cloudwatch_config' && r.errorCode === 'VT_ERR_PRECONDITION_FAILED'));
    assert.equal(records.filter((r) => !r.errorCode).length, 8);
  });

  it('refuses every invalid configuration with 400 invalid_request_error, naming the field', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const cases: Array<[string, string, unknown, string]> = [
      ['PATCH', CW, { enabled: true }, 'region'],
      ['PATCH', CW, { enabled: true, region: 'us-west-2' }, 'log_group_name'],
      ['PATCH', CW, { region: 'west' }, 'region'],
      ['PATCH', CW, { region: 'US-WEST-2' }, 'region'],
      ['PATCH', CW, { log_group_name: 'has space' }, 'log_group_name'],
      ['PATCH', CW, { log_group_name: 'x'.repeat(513) }, 'log_group_name'],
      ['PATCH', CW, { enabled: 'yes' }, 'enabled'],
      ['PATCH', CW, { bucket: 'b' }, 'bucket'],
      ['PUT', CW, { enabled: false, region: 'us-west-2' }, 'log_group_name'],
      ['PATCH', SYSLOG, { server_port: 0 }, 'server_port'],
      ['PATCH', SYSLOG, { server_port: 70000 }, 'server_port'],
      ['PATCH', SYSLOG, { server_port: 51.4 }, 'server_port'],
      ['PATCH', SYSLOG, { format: 'xml' }, 'format'],
      ['PATCH', SYSLOG, { enabled: true }, 'server_address'],
      ['PATCH', SYSLOG, { server_address: 'not an address!' }, 'server_address'],
      ['PATCH', SYSLOG, { server_address: 'a'.repeat(64) + '.example' }, 'server_address'],
      ['PUT', SYSLOG, { enabled: false, server_address: 'h.example' }, 'server_port'],
    ];
    for (const [method, url, body, field] of cases) {
      const response = await vt.call(p.owner, method, url, body);
      assert.equal(response.statusCode, 400, `${method} ${url} ${JSON.stringify(body)}: ${response.body}`);
      assert.equal(response.json().error_class, 'invalid_request_error');
      assert.ok(response.json().description.includes(field), `${JSON.stringify(body)} names ${field}: ${response.body}`);
    }
    assert.equal((await vt.call(p.owner, 'PATCH', CW, '{"enabled":', { 'content-type': 'application/json' })).statusCode, 400);
    assert.equal((await vt.call(p.owner, 'GET', CW)).headers.etag, '"0"', 'nothing was written');
    // Valid edge values pass: an IPv6 address, the port range ends, a host name.
    for (const body of [{ server_address: '2001:db8::1', server_port: 1 }, { server_address: 'syslog.example.com', server_port: 65535 }]) {
      assert.equal((await vt.call(p.owner, 'PATCH', SYSLOG, body)).statusCode, 200);
    }
  });

  it('reads need PRIVILEGE_AUDIT_READ and writes PRIVILEGE_AUDIT_WRITE (403 privilege_error)', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    assert.equal((await vt.call(p.reader, 'GET', CW)).statusCode, 200);
    const denied = await vt.call(p.reader, 'PATCH', CW, { region: 'us-west-2' });
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.json().error_class, 'privilege_error');
    assert.equal((await vt.call(p.writer, 'GET', SYSLOG)).statusCode, 403);
  });

  it('syslog status follows the sender: CONNECTING, CONNECTED, DISCONNECTED with the error, CONNECTED again with nothing lost, DISABLED; CSV then JSON', async (t) => {
    let listener = await startSyslogListener();
    const port = listener.port;
    const messages = listener.messages;
    t.after(() => listener.close());
    const vt = await build(t, { forwarding: { backoff: { baseMs: 20, maxMs: 200 }, pollMs: 50 } });
    const p = await vt.project();
    const status = async () => (await vt.call(p.reader, 'GET', '/v1/audit/syslog/status')).json();
    const enable = await vt.call(p.owner, 'PATCH', SYSLOG, { enabled: true, server_address: '127.0.0.1', server_port: port });
    assert.equal(enable.statusCode, 200, enable.body);
    assert.ok(['AUDIT_LOG_CONNECTING', 'AUDIT_LOG_CONNECTED'].includes((await status()).connection_status));
    const ingest = (events: unknown[]) => vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events);
    await ingest([{ actor: 'AD\\alice', action: 'fs_rename', target: '/my_file', destination: '/another_file', source: '203.0.113.10', fileId: '3', status: 'ok' }]);
    await waitUntil(() => messages.some((m) => m.includes('fs_rename')), 'the CSV message');
    const csv = messages.find((m) => m.includes('fs_rename'))!;
    assert.match(csv, /^<134>1 \d{4}-\d\d-\d\dT[\d:.]+Z \S+ qumulo - - - 203\.0\.113\.10,"AD\\alice",api,fs_rename,ok,3,"\/my_file","\/another_file"$/);
    assert.equal((await status()).connection_status, 'AUDIT_LOG_CONNECTED');
    // The record of enabling was forwarded too, as Veritrail's own (internal) operation.
    assert.ok(messages.some((m) => m.includes(',internal,audit_modify_syslog_config,ok,')));

    await listener.close();
    await ingest([{ action: 'fs_write_data', actor: 'bob' }]);
    const down = await waitUntil(async () => {
      const s = await status();
      return s.connection_status === 'AUDIT_LOG_DISCONNECTED' && s;
    }, 'DISCONNECTED');
    assert.ok(down.error_message.length > 0 && down.error_details.length > 0);
    await ingest([{ action: 'fs_delete', actor: 'bob' }]);
    listener = await startSyslogListener(port, messages);
    await waitUntil(() => messages.some((m) => m.includes('fs_delete')), 'the backlog after the restart');
    assert.ok(messages.some((m) => m.includes('fs_write_data')), 'nothing sent while the receiver was down is lost');
    await waitUntil(async () => (await status()).connection_status === 'AUDIT_LOG_CONNECTED', 'CONNECTED again');

    assert.equal((await vt.call(p.owner, 'PATCH', SYSLOG, { format: 'json' })).statusCode, 200);
    await ingest([{ action: 'fs_read_data', actor: 'carol', target: '/f' }]);
    await waitUntil(() => messages.some((m) => m.includes('"fs_read_data"')), 'the JSON message');
    const body = JSON.parse(messages.find((m) => m.includes('"fs_read_data"'))!.split(' - - - ')[1]!);
    assert.deepEqual(body, { user_id: { name: 'carol' }, user_ip: '', protocol: 'api', operation: 'fs_read_data', status: 'ok', details: { path: '/f', target: '', file_id: '' } });
    assert.equal((await vt.call(p.owner, 'PATCH', SYSLOG, { enabled: false })).statusCode, 200);
    assert.deepEqual(await status(), { connection_status: 'AUDIT_LOG_DISABLED' });
  });

  it('CloudWatch: Qumulo-shaped messages to an existing group, an AccessDeniedException in node_statuses until the next success', async (t) => {
    const double = await startCloudWatchLogsDouble();
    t.after(() => double.close());
    double.groups.set('my-cluster-log-group', new Map());
    const vt = await build(t, {
      forwarding: { cloudwatch: { endpoint: double.endpoint, credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret-key' } }, backoff: { baseMs: 20, maxMs: 100 }, pollMs: 50 },
    });
    const p = await vt.project();
    double.faults.push('access-denied', 'access-denied', 'access-denied');
    const enable = await vt.call(p.owner, 'PATCH', CW, { enabled: true, region: 'us-west-2', log_group_name: 'my-cluster-log-group' });
    assert.equal(enable.statusCode, 200, enable.body);
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { actor: 'AD\\alice', action: 'fs_rename', target: '/my_file', destination: '/another_file', source: '203.0.113.10', fileId: '3' });
    const denied = await waitUntil(async () => {
      const body = (await vt.call(p.reader, 'GET', '/v1/audit/cloudwatch/status')).json();
      return body.node_statuses['1'].last_seen_error !== null && body;
    }, 'the access error');
    assert.equal(denied.node_statuses['1'].last_seen_error.error_message, 'Access denied sending logs to CloudWatch');
    assert.match(denied.node_statuses['1'].last_seen_error.error_details, /AccessDeniedException/);
    const [stream] = [...double.groups.get('my-cluster-log-group')!.keys()];
    assert.ok(stream!.endsWith(`-${p.id}`), 'stream <hostname>-<projectId>');
    await waitUntil(() => double.events('my-cluster-log-group', stream!).some((e) => e.message.includes('fs_rename')), 'the event');
    await waitUntil(async () => (await vt.call(p.reader, 'GET', '/v1/audit/cloudwatch/status')).json().node_statuses['1'].last_seen_error === null, 'the error to clear');
    const message = JSON.parse(double.events('my-cluster-log-group', stream!).find((e) => e.message.includes('fs_rename'))!.message);
    assert.deepEqual(message, { ip_address: '203.0.113.10', user: 'AD\\alice', protocol: 'api', operation: 'fs_rename', result: 'ok', object_id: '3', path_1: '/my_file', path_2: '/another_file' });
    assert.equal(double.calls.filter((c) => c.op === 'CreateLogGroup').length, 0, 'Qumulo targets never create the group');
  });

  it('works from curl, the real client: login, GET with ETag, PATCH with If-Match, 412', async (t) => {
    const curl = ensureDebianTool('curl', 'curl');
    const vt = await build(t);
    const p = await vt.project();
    const owner = await projectKey(vt, p.id, 'PROJECT_OWNER');
    const base = await vt.app.listen({ host: '127.0.0.1', port: 0 });
    // Asynchronous: the server runs in this process, so a blocking spawn would deadlock it.
    const run = async (...args: string[]) => (await promisify(execFile)(curl, ['-sS', ...args], { encoding: 'utf8' })).stdout;
    const token = JSON.parse(await run('-X', 'POST', `${base}/v1/session/login`, '-H', 'Content-Type: application/json', '-d', JSON.stringify({ username: owner.id, password: owner.key }))).bearer_token;
    const head = await run('-i', '-H', `Authorization: Bearer ${token}`, `${base}${CW}`);
    assert.match(head, /^etag: "0"\r$/im);
    const patch = (etagValue: string) =>
      run('-i', '-X', 'PATCH', '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '-H', `If-Match: ${etagValue}`, `${base}${CW}`, '-d', '{"enabled":false,"log_group_name":"my-cluster-log-group","region":"us-west-2"}');
    const ok = await patch('"0"');
    assert.match(ok, /^HTTP\/1\.1 200/);
    assert.match(ok, /^etag: "1"\r$/im);
    assert.match(ok, /"log_group_name":"my-cluster-log-group"/);
    assert.match(await patch('"0"'), /^HTTP\/1\.1 412[\s\S]*"error_class":"http_precondition_failed_error"/);
  });
});
