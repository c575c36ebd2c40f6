/**
 * The syslog destination against a real rsyslog from Debian (installed here if missing), run
 * as an unprivileged process with a generated configuration listening on loopback TCP
 * (imtcp, octet-counted frames) and UDP (imudp) ports; every line it writes is counted. TLS is
 * checked against the test TLS receiver (test/helpers/syslog-listener.ts) with a certificate
 * made by openssl.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { build } from '../helpers/app.ts';
import { ensureDebianTool } from '../helpers/debian.ts';
import { deliveryProblem } from '../helpers/delivery-order.ts';
import { startSyslogListener } from '../helpers/syslog-listener.ts';
import { tempDir } from '../helpers/stores.ts';
import { waitUntil } from '../helpers/wait.ts';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** rsyslogd in the foreground with only our inputs and one output file of `APP-NAME MSG` lines. */
async function startRsyslog(dir: string): Promise<{ tcpPort: number; udpPort: number; lines(): string[]; stop(): Promise<void> }> {
  const rsyslogd = ensureDebianTool('rsyslogd', 'rsyslog');
  const [tcpPort, udpPort] = [await freePort(), await freePort()];
  const out = path.join(dir, 'out.log');
  fs.writeFileSync(
    path.join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}" maxMessageSize="256k")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1")
input(type="imudp" port="${udpPort}" address="127.0.0.1")
template(name="raw" type="string" string="%app-name% %msg%\\n")
action(type="omfile" file="${out}" template="raw")
`,
  );
  fs.chmodSync(dir, 0o777);
  // Unprivileged: as root (CI), drop to nobody; otherwise run as whoever we are.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const child = spawn(rsyslogd, ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'], ...asNobody });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${log}`);
        const socket = net.connect(tcpPort, '127.0.0.1', () => (socket.destroy(), resolve(true)));
        socket.on('error', () => resolve(false));
      }),
    'rsyslogd to listen',
    20_000,
    100,
  );
  return {
    tcpPort,
    udpPort,
    lines: () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

describe('syslog destination', () => {
  it('delivers every event to a real rsyslog over TCP (octet counting) and UDP, as RFC 5424 with JSON and CSV bodies', async (t) => {
    const dir = tempDir('vt-rsyslog-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const rsyslog = await startRsyslog(dir);
    t.after(() => rsyslog.stop());
    const vt = await build(t, { forwarding: { backoff: { baseMs: 20, maxMs: 200 }, pollMs: 50, batchEvents: 500 } });
    const p = await vt.project();
    const create = async (body: Record<string, unknown>) => {
      const response = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/destinations`, { kind: 'syslog', host: '127.0.0.1', startFrom: 'beginning', enabled: false, ...body });
      assert.equal(response.statusCode, 201, response.body);
      return response.json().id as string;
    };
    const tcp = await create({ port: rsyslog.tcpPort, transport: 'tcp', appName: 'vt-tcp', format: 'json' });
    for (let batch = 0; batch < 4; batch++) {
      const events = Array.from({ length: 500 }, (_, i) => ({ eventId: `b${batch}-${i}`, actor: 'AD\\alice', action: 'fs_write_data', target: `/dir/file "${i}", with comma`, source: '203.0.113.10', note: 'ünïcödé ✓' }));
      assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events)).statusCode, 201);
    }
    // TCP takes the whole log (2,000 events and more).
    assert.equal((await vt.call(p.owner, 'PATCH', `/v1/projects/${p.id}/destinations/${tcp}`, { enabled: true })).statusCode, 200);
    const size = await vt.node.store.treeSize(p.id);
    const tcpLines = () => rsyslog.lines().filter((l) => l.startsWith('vt-tcp '));
    await waitUntil(() => tcpLines().length >= size, `${size} lines over TCP`, 60_000, 100);
    const indexes = tcpLines().map((l) => (JSON.parse(l.slice('vt-tcp '.length)) as { index: number }).index);
    assert.equal(deliveryProblem(indexes, size, 500), undefined);
    const first = JSON.parse(tcpLines().find((l) => l.includes('"b0-0"'))!.slice('vt-tcp '.length));
    assert.equal(first.event.note, 'ünïcödé ✓', 'UTF-8 bodies arrive intact');
    assert.match(first.leafHash, /^[0-9a-f]{64}$/);

    // UDP promises nothing, and a burst of thousands of datagrams can overflow the receiver's
    // socket buffer; it gets the events from now on, in small requests, and every one counts.
    // "now" is the log's size when it is created, so the record of creating it comes next.
    const from = await vt.node.store.treeSize(p.id);
    const udp = await create({ port: rsyslog.udpPort, transport: 'udp', appName: 'vt-udp', format: 'csv', enabled: true, startFrom: 'now' });
    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 20 }, (_, i) => ({ actor: 'AD\\alice', action: 'fs_write_data', target: `/dir/file "${batch * 20 + i}", with comma`, source: '203.0.113.10' }));
      assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events)).statusCode, 201);
    }
    const udpLines = () => rsyslog.lines().filter((l) => l.startsWith('vt-udp '));
    const expected = (await vt.node.store.treeSize(p.id)) - from;
    await waitUntil(() => udpLines().length >= expected, `${expected} lines over UDP`, 60_000, 100);
    assert.equal(udpLines().length, expected);
    assert.ok(udpLines().includes('vt-udp 203.0.113.10,"AD\\alice",api,fs_write_data,ok,,"/dir/file ""7"", with comma",""'), 'the Qumulo CSV line, quotes doubled');
    assert.ok(udpLines().some((l) => l.includes(',internal,CreateDestination,ok,')), 'Veritrail\'s own record of creating it');
    assert.equal((await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/destinations/${udp}/status`)).json().lagEvents, 0);
    const status = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/destinations/${tcp}/status`)).json();
    assert.equal(status.state, 'connected');
    t.diagnostic(`rsyslog wrote ${tcpLines().length} TCP lines and ${udpLines().length} UDP lines`);
  });

  it('delivers over TLS (RFC 5425 framing) to a receiver whose CA it was given, and refuses one it cannot verify', async (t) => {
    const openssl = ensureDebianTool('openssl', 'openssl');
    const dir = tempDir('vt-tls-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const listener = await startSyslogListener(0, [], { key: fs.readFileSync(path.join(dir, 'key.pem')), cert });
    t.after(() => listener.close());
    const { port, messages: received } = listener;
    const vt = await build(t, { forwarding: { backoff: { baseMs: 20, maxMs: 200 }, pollMs: 50 } });
    const p = await vt.project();
    const untrusted = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/destinations`, { kind: 'syslog', host: 'localhost', port, transport: 'tls' });
    const trusted = await vt.call(p.owner, 'POST', `/v1/projects/${p.id}/destinations`, { kind: 'syslog', host: 'localhost', port, transport: 'tls', tlsCa: cert, appName: 'vt-tls' });
    assert.equal(trusted.statusCode, 201, trusted.body);
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { action: 'fs_open', actor: 'dave' });
    await waitUntil(() => received.some((m) => m.includes('"fs_open"')), 'the TLS message');
    assert.match(received.find((m) => m.includes('"fs_open"'))!, /^<134>1 \S+ \S+ vt-tls - - - \{"index":/);
    const refused = await waitUntil(async () => {
      const s = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/destinations/${untrusted.json().id}/status`)).json();
      return s.state === 'error' && s;
    }, 'the certificate error');
    assert.match(refused.lastError.details, /certificate/i);
  });
});
