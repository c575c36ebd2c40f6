/** The Qumulo message shapes (spec/qumulo.md §4.1) from Veritrail events of several dialects (§4.2). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envelopeBytes } from '../../src/core/envelope.ts';
import { forwardEvent, jsonLine } from '../../src/forward/forward-event.ts';
import { qumuloCloudWatchJson, qumuloCsv, qumuloSyslogJson } from '../../src/forward/qumulo-format.ts';
import { leafHash } from '../../src/log/hashing.ts';

const entry = (event: Record<string, unknown>, index = 0) => {
  const envelope = envelopeBytes({ eventId: 'e-1', projectId: 'a'.repeat(24), receivedAt: '2026-06-01T12:00:00.000Z', event });
  return forwardEvent({ index, envelope });
};

describe('Qumulo formats', () => {
  it('renders the documented CSV example, stripping CR/LF and doubling quotes', () => {
    const e = entry({ source: '203.0.113.10', actor: 'AD\\alice', action: 'fs_rename', status: 'ok', fileId: '3', target: '/my_file', destination: '/another_file' });
    assert.equal(qumuloCsv(e), '203.0.113.10,"AD\\alice",api,fs_rename,ok,3,"/my_file","/another_file"');
    const odd = entry({ actor: 'bo"b\r\n', action: 'fs_open', target: '/a,"b"', status: 'denied' });
    assert.equal(qumuloCsv(odd), ',"bo""b",api,fs_open,denied,,"/a,""b""",""');
  });

  it('maps a CloudTrail record: user, IP, operation, errorCode as the status', () => {
    const e = entry({ eventName: 'DeleteBucket', sourceIPAddress: '198.51.100.2', userIdentity: { userName: 'carol' }, errorCode: 'AccessDenied' });
    assert.deepEqual(JSON.parse(qumuloCloudWatchJson(e)), { ip_address: '198.51.100.2', user: 'carol', protocol: 'api', operation: 'DeleteBucket', result: 'AccessDenied', object_id: '', path_1: '', path_2: '' });
    const own = entry({ eventSource: 'veritrail.api', eventName: 'audit_modify_syslog_config', sourceIPAddress: 'not-an-ip' });
    assert.deepEqual(JSON.parse(qumuloSyslogJson(own)), { user_id: { name: '' }, user_ip: '', protocol: 'internal', operation: 'audit_modify_syslog_config', status: 'ok', details: { path: '', target: '', file_id: '' } });
  });

  it('the JSON line carries the index, the envelope fields, the leaf hash and the event exactly as committed', () => {
    const event = { b: 1, a: [1.5, 'x'], 'ü': null };
    const e = entry(event, 42);
    const line = JSON.parse(jsonLine(e));
    assert.deepEqual(line, { index: 42, eventId: 'e-1', projectId: 'a'.repeat(24), receivedAt: '2026-06-01T12:00:00.000Z', leafHash: leafHash(e.envelope).toString('hex'), event });
    assert.deepEqual(e.event, event);
  });
});
