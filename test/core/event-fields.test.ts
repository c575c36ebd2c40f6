/** The field mapping of core/event-fields.ts, over each event shape the specs name. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventFields, eventText, readTime } from '../../src/core/event-fields.ts';

describe('eventFields', () => {
  it('reads a CloudTrail record (spec/cloudtrail.md §4)', () => {
    const record = {
      eventVersion: '1.11',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice' },
      eventTime: '2026-01-02T03:04:05Z',
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      sourceIPAddress: '203.0.113.7',
    };
    assert.deepEqual(eventFields(record), {
      eventTime: Date.UTC(2026, 0, 2, 3, 4, 5),
      eventName: 'GetObject',
      eventSource: 's3.amazonaws.com',
      actors: ['Alice', 'arn:aws:iam::123456789012:user/Alice'],
      sourceIp: '203.0.113.7',
      outcome: 'success',
    });
    assert.equal(eventFields({ ...record, errorCode: 'AccessDenied' }).outcome, 'failure');
    // An assumed role has no userName: its ARN is the actor.
    assert.deepEqual(eventFields({ ...record, userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/D/d' } }).actors, ['arn:aws:sts::1:assumed-role/D/d']);
  });

  it('reads a MongoDB audit message (spec/atlas.md §9.1)', () => {
    const message = {
      atype: 'authenticate',
      ts: { $date: '2026-08-10T03:04:49.123+00:00' },
      local: { ip: '10.0.0.5', port: 27017 },
      remote: { ip: '203.0.113.9', port: 51234 },
      users: [{ user: 'auditAdmin', db: 'admin' }, { user: 'tim', db: 'test' }],
      param: { user: 'auditAdmin', db: 'admin', mechanism: 'SCRAM-SHA-256' },
      result: 18,
    };
    assert.deepEqual(eventFields(message), {
      eventTime: Date.UTC(2026, 7, 10, 3, 4, 49, 123),
      eventName: 'authenticate',
      eventSource: undefined,
      actors: ['auditAdmin', 'tim'],
      sourceIp: '203.0.113.9',
      outcome: 'failure',
    });
    assert.equal(eventFields({ ...message, result: 0 }).outcome, 'success');
    assert.equal(eventFields({ ...message, ts: { $date: { $numberLong: '1786331089123' } } }).eventTime, 1786331089123);
    assert.equal(eventFields({ ...message, ts: { $date: 1786331089123 } }).eventTime, 1786331089123);
    assert.deepEqual(eventFields({ ...message, users: [] }).actors, [], 'unauthenticated');
  });

  it('reads Qumulo-style and generic events (spec/qumulo.md §4.2)', () => {
    assert.deepEqual(eventFields({ actor: 'AD\\alice', action: 'fs_rename', status: 'ok', source: '203.0.113.10', timestamp: 1717679548000 }), {
      eventTime: 1717679548000,
      eventName: 'fs_rename',
      eventSource: undefined,
      actors: ['AD\\alice'],
      sourceIp: '203.0.113.10',
      outcome: 'success',
    });
    const generic = eventFields({ actor: { name: 'svc', id: 'u-1' }, action: 'deploy', status: 'fs_access_perm_not_owner_error', source: 'billing-api' });
    assert.equal(generic.eventSource, 'billing-api', 'a source that is not an address is the event source');
    assert.equal(generic.sourceIp, undefined);
    assert.deepEqual(generic.actors, ['svc', 'u-1']);
    assert.equal(generic.outcome, 'failure');
    assert.equal(eventFields({ operation: 'fs_write_data', user_ip: '2001:db8::1' }).sourceIp, '2001:db8::1');
    assert.equal(eventFields({ status: 503 }).outcome, 'failure');
    assert.equal(eventFields({ status: 204 }).outcome, 'success');
    assert.equal(eventFields({ success: false }).outcome, 'failure');
    assert.equal(eventFields({ outcome: 'SUCCESS' }).outcome, 'success');
  });

  it('falls back to nothing for what it cannot read', () => {
    assert.deepEqual(eventFields({ hello: 'world', eventTime: 'last tuesday', eventName: 42, actor: '' }), {
      eventTime: undefined,
      eventName: undefined,
      eventSource: undefined,
      actors: [],
      sourceIp: undefined,
      outcome: undefined,
    });
    assert.equal(eventFields({ eventTime: 'garbage', timestamp: '2026-01-01T00:00:00.000Z' }).eventTime, Date.UTC(2026, 0, 1), 'the next usable member wins');
  });

  it('readTime takes RFC 3339, epoch ms and Extended JSON dates, and nothing looser', () => {
    assert.equal(readTime('2026-01-01T01:00:00+01:00'), Date.UTC(2026, 0, 1));
    assert.equal(readTime('2026-01-01'), Date.UTC(2026, 0, 1));
    assert.equal(readTime('1'), undefined);
    assert.equal(readTime('March 7'), undefined);
    assert.equal(readTime(Number.NaN), undefined);
    assert.equal(readTime({ $date: '2026-01-01T00:00:00Z', extra: 1 }), undefined);
  });
});

describe('eventText', () => {
  it('joins string and number values depth first, without member names', () => {
    assert.equal(eventText({ eventName: 'Login', n: 5, nested: { deep: ['a', { b: 'c' }] }, flag: true, none: null }), 'Login 5 a c');
  });
  it('stops at the size bound', () => {
    assert.equal(eventText({ a: 'x'.repeat(100), b: 'y'.repeat(100) }, 150).length, 150);
  });
});
