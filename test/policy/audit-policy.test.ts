/**
 * Filters that really filter (spec/atlas.md §9.3): a table of filters, events and decisions,
 * with every example filter of §9.3 among them, MongoDB-shaped and CloudTrail-shaped events.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileAuditPolicy, decideAudit, type DropReason } from '../../src/policy/audit-policy.ts';
import { AuditFilterError, compileAuditFilter } from '../../src/policy/audit-filter.ts';
import { applyAuditConfigPatch, UNCONFIGURED } from '../../src/policy/audit-config.ts';
import { decodeExtendedJson } from '../../src/policy/extended-json.ts';
import { VeritrailError } from '../../src/core/errors.ts';
import { mongoAuditMessage } from '../helpers/events.ts';

const mongo = mongoAuditMessage;

/** A CloudTrail record (spec/cloudtrail.md §4), with overrides. */
function cloudtrail(eventName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'IAMUser',
      userName: 'alice',
      arn: 'arn:aws:iam::123456789012:user/alice',
      sessionContext: { attributes: { creationDate: '2026-08-10T03:00:00Z', mfaAuthenticated: 'false' } },
    },
    eventTime: '2026-08-10T03:04:49Z',
    eventSource: eventName === 'DeleteAlarms' ? 'monitoring.amazonaws.com' : 'events.amazonaws.com',
    eventName,
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.9',
    requestParameters: { name: 'nightly' },
    readOnly: eventName.startsWith('Describe'),
    eventType: 'AwsApiCall',
    ...extra,
  };
}

const AUTHENTICATE_TEST = mongo('authenticate', { user: 'auditAdmin', db: 'test', mechanism: 'SCRAM-SHA-256' });
const AUTHENTICATE_ADMIN = mongo('authenticate', { user: 'auditAdmin', db: 'admin', mechanism: 'SCRAM-SHA-1' });
const AUTHENTICATE_FAILED = mongo('authenticate', { user: 'mallory', db: 'admin', mechanism: 'SCRAM-SHA-256' }, { users: [], roles: [], result: 18 });
const AUTH_CHECK_OK = mongo('authCheck', { command: 'find', ns: 'test.orders', args: { find: 'orders' } }, { users: [{ user: 'tim', db: 'test' }], roles: [{ role: 'readWrite', db: 'test' }] });
const AUTH_CHECK_DENIED = mongo('authCheck', { command: 'insert', ns: 'test.orders', args: {} }, { users: [{ user: 'tim', db: 'test' }], roles: [{ role: 'readWrite', db: 'test' }], result: 13 });
const CREATE_TEST = mongo('createCollection', { ns: 'test.orders' });
const DROP_PROD = mongo('dropCollection', { ns: 'prod.orders' });
const UNAUTHENTICATED = mongo('clientMetadata', { localEndpoint: { ip: '10.0.0.5', port: 27017 } }, { users: [], roles: [] });
const JULY = mongo('createCollection', { ns: 'test.old' }, { ts: { $date: '2026-07-01T00:00:00.000Z' } });
const TYPED = mongo('authenticate', { user: 'x', db: 'test', mechanism: 'SCRAM-SHA-256' }, { result: { $numberInt: '18' } });
const PUT_RULE = cloudtrail('PutRule');
const DELETE_ALARMS = cloudtrail('DeleteAlarms');
const DESCRIBE = cloudtrail('DescribeRule');
const FAILED_CALL = cloudtrail('PutRule', { errorCode: 'AccessDenied', errorMessage: 'no' });

const BUILDER_FILTER =
  '{ "$or": [ { "users": [] }, { "$and": [ { "users": { "$elemMatch": { "$or": [ { "db": "admin" } ] } } }, { "atype": { "$in": ["authenticate"] } } ] } ] }';

/** [filter, auditAuthorizationSuccess, [event, expected] pairs]; `true` = recorded, else the drop reason. */
type Row = [label: string, filter: string | undefined, authSuccess: boolean, cases: Array<[Record<string, unknown>, true | DropReason]>];
const F = 'FILTER_NOT_MATCHED' as const;
const A = 'AUTHORIZATION_SUCCESS_NOT_AUDITED' as const;

const TABLE: Row[] = [
  // --- the example filters of spec/atlas.md §9.3 ---
  ['§9.3 atype $in', '{ "atype": { "$in": ["createCollection", "dropCollection"] } }', false, [[CREATE_TEST, true], [DROP_PROD, true], [AUTHENTICATE_TEST, F]]],
  ['§9.3 atype and nested param.db', '{ "atype": "authenticate", "param.db": "test" }', false, [[AUTHENTICATE_TEST, true], [AUTHENTICATE_ADMIN, F], [CREATE_TEST, F]]],
  ['§9.3 $in and $regex on param.ns', '{ "atype": { "$in": ["createCollection","dropCollection"] }, "param.ns": { "$regex": "^test\\\\." } }', false, [[CREATE_TEST, true], [DROP_PROD, F]]],
  [
    '§9.3 authCheck commands, auditAuthorizationSuccess off',
    '{ "atype": "authCheck", "param.command": { "$in": ["find","insert","delete","update","findAndModify"] } }',
    false,
    [[AUTH_CHECK_OK, A], [AUTH_CHECK_DENIED, true], [CREATE_TEST, F]],
  ],
  ['§9.3 authCheck commands, auditAuthorizationSuccess on', '{ "atype": "authCheck", "param.command": { "$in": ["find","insert","delete","update","findAndModify"] } }', true, [[AUTH_CHECK_OK, true], [AUTH_CHECK_DENIED, true]]],
  ['§9.3 $or over atype and roles.role', '{ "$or": [ { "atype": "authenticate" }, { "roles.role": "readWrite" } ] }', true, [[AUTHENTICATE_ADMIN, true], [AUTH_CHECK_OK, true], [CREATE_TEST, F]]],
  ['§9.3 users.user in an array', '{ "users.user": "tim" }', false, [[AUTH_CHECK_DENIED, true], [AUTHENTICATE_TEST, F]]],
  ['§9.3 filter-builder style: unauthenticated, or admin users authenticating', BUILDER_FILTER, false, [[UNAUTHENTICATED, true], [AUTHENTICATE_FAILED, true], [AUTHENTICATE_ADMIN, true], [AUTH_CHECK_DENIED, F]]],
  [
    '§9.3 shell syntax: unquoted keys, single quotes, a regex literal',
    "{ atype: 'authenticate', 'param.ns': /^test\\./ }",
    false,
    [[mongo('authenticate', { ns: 'test.users' }), true], [mongo('authenticate', { ns: 'prod.users' }), F], [AUTHENTICATE_TEST, F]],
  ],
  // --- the examples and CloudTrail-shaped events ---
  ['CloudTrail eventName $in', '{"eventName": {"$in": ["PutRule", "DeleteAlarms"]}}', true, [[PUT_RULE, true], [DELETE_ALARMS, true], [DESCRIBE, F]]],
  ['CloudTrail deeply nested field', '{"userIdentity.sessionContext.attributes.mfaAuthenticated": "false", "userIdentity.userName": "alice"}', true, [[PUT_RULE, true], [cloudtrail('PutRule', { userIdentity: { userName: 'bob' } }), F]]],
  ['$exists on errorCode', '{"errorCode": {"$exists": true}}', true, [[FAILED_CALL, true], [PUT_RULE, F]]],
  ['$exists false', '{"errorCode": {"$exists": false}, "readOnly": false}', true, [[PUT_RULE, true], [FAILED_CALL, F], [DESCRIBE, F]]],
  ['$and with $ne', '{"$and": [{"eventSource": "events.amazonaws.com"}, {"readOnly": {"$ne": true}}]}', true, [[PUT_RULE, true], [DESCRIBE, F], [DELETE_ALARMS, F]]],
  ['$or of $regex on sourceIPAddress and eventName', '{"$or": [{"sourceIPAddress": {"$regex": "^198\\\\."}}, {"eventName": {"$regex": "^Delete"}}]}', true, [[DELETE_ALARMS, true], [PUT_RULE, F]]],
  // --- typed values (§9.3.5): dates, result and ports as numbers ---
  ['ts as an Extended JSON date', '{"ts": {"$gte": {"$date": "2026-08-01T00:00:00Z"}}}', true, [[CREATE_TEST, true], [JULY, F]]],
  ['ts against ISODate() in shell syntax', '{ ts: { $lt: ISODate("2026-08-01T00:00:00Z") } }', true, [[JULY, true], [CREATE_TEST, F]]],
  ['a non-zero result is a failure', '{"result": {"$ne": 0}}', true, [[AUTHENTICATE_FAILED, true], [TYPED, true], [AUTHENTICATE_TEST, F]]],
  ['ports compare as numbers', '{"remote.port": {"$gt": 50000}, "local.port": 27017}', true, [[CREATE_TEST, true], [mongo('createCollection', { ns: 'a' }, { remote: { ip: '203.0.113.7', port: 40000 } }), F]]],
  // --- more operators ---
  ['$not with $regex', '{"atype": {"$not": {"$regex": "^auth"}}}', true, [[CREATE_TEST, true], [AUTHENTICATE_TEST, F], [AUTH_CHECK_OK, F]]],
  ['$in on an array field', '{"users.user": {"$in": ["tim", "bob"]}}', true, [[AUTH_CHECK_DENIED, true], [AUTHENTICATE_TEST, F], [UNAUTHENTICATED, F]]],
  ['$in mixing a regex and a string', "{ atype: { $in: [/^create/, 'dropCollection'] } }", true, [[CREATE_TEST, true], [DROP_PROD, true], [AUTHENTICATE_TEST, F]]],
  ['$in beside other fields and an $or', '{"atype": {"$in": ["authCheck"]}, "param.ns": {"$regex": "^test"}, "$or": [{"result": 13}, {"users.user": "nobody"}]}', true, [[AUTH_CHECK_DENIED, true], [AUTH_CHECK_OK, F]]],
  ['$nin', '{"atype": {"$nin": ["authCheck", "clientMetadata"]}}', true, [[CREATE_TEST, true], [UNAUTHENTICATED, F]]],
  ['$size of users', '{"users": {"$size": 0}}', true, [[UNAUTHENTICATED, true], [AUTHENTICATE_TEST, F]]],
  ['$elemMatch on roles', "{ roles: { $elemMatch: { role: 'readWrite', db: 'test' } } }", true, [[AUTH_CHECK_OK, true], [CREATE_TEST, F]]],
  ['$type number on result', '{"result": {"$type": "number"}, "atype": "authenticate"}', true, [[TYPED, true], [AUTHENTICATE_FAILED, true], [PUT_RULE, F]]],
  // --- the authCheck gate and the empty filter ---
  ['no filter, auditAuthorizationSuccess off: only successful authCheck is dropped', undefined, false, [[AUTH_CHECK_OK, A], [AUTH_CHECK_DENIED, true], [PUT_RULE, true]]],
  ['{} with auditAuthorizationSuccess on records everything', '{}', true, [[AUTH_CHECK_OK, true], [PUT_RULE, true], [UNAUTHENTICATED, true]]],
  ['the gate wins over a filter that names authCheck', '{"atype": "authCheck"}', false, [[AUTH_CHECK_OK, A], [AUTH_CHECK_DENIED, true]]],
  ['a semantically odd filter is accepted: an array value matches nothing scalar', '{"atype":["authenticate"]}', true, [[AUTHENTICATE_TEST, F]]],
  [
    'seed 002: the example filter, with newlines, against a matching and another event',
    '{\n  "atype": "authenticate",\n  "param": {\n    "user": "auditAdmin",\n    "db": "admin",\n    "mechanism": "SCRAM-SHA-1"\n  }\n}',
    false,
    [[AUTHENTICATE_ADMIN, true], [AUTHENTICATE_TEST, F]],
  ],
];

describe('audit policy: the filter table', () => {
  it(`has at least 20 filters (${TABLE.length})`, () => assert.ok(TABLE.length >= 20));

  for (const [label, filter, authSuccess, cases] of TABLE) {
    it(label, () => {
      const policy = compileAuditPolicy({ enabled: true, auditAuthorizationSuccess: authSuccess, configurationType: 'FILTER_JSON', ...(filter ? { auditFilter: filter } : {}) }, 1);
      assert.equal(policy.warning, undefined);
      for (const [event, expected] of cases) {
        const decision = decideAudit(policy, event);
        assert.deepEqual(decision, expected === true ? { record: true } : { record: false, reason: expected }, `${JSON.stringify(event).slice(0, 120)}`);
        // The Extended JSON walk may be skipped only when the event holds no "$": the answer is the same.
        if (!JSON.stringify(event).includes('"$')) assert.deepEqual(decideAudit(policy, event, { plainJson: true }), decision);
      }
    });
  }

  it('enabled=false drops everything, whatever the filter', () => {
    const policy = compileAuditPolicy({ enabled: false, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: '{}' }, 2);
    for (const event of [PUT_RULE, AUTHENTICATE_TEST, AUTH_CHECK_DENIED]) assert.deepEqual(decideAudit(policy, event), { record: false, reason: 'AUDIT_DISABLED' });
  });

  it('a never-configured project records everything, successful authCheck included', () => {
    const policy = compileAuditPolicy(UNCONFIGURED, 0);
    assert.equal(policy.recordsEverything, true);
    for (const event of [PUT_RULE, AUTH_CHECK_OK]) assert.deepEqual(decideAudit(policy, event), { record: true });
  });

  it('$where, $function, $text and geo operators are accepted but match nothing, with a warning (§9.3.4)', () => {
    for (const filter of [
      '{"$where": "this.atype == \\"authenticate\\""}',
      '{"$expr": {"$function": {"body": "function() { return true }", "args": [], "lang": "js"}}}',
      '{"$text": {"$search": "x"}}',
      '{"remote": {"$near": [1, 2]}}',
    ]) {
      const policy = compileAuditPolicy({ enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: filter }, 1);
      assert.match(policy.warning ?? '', /does not evaluate/, filter);
      assert.deepEqual(decideAudit(policy, AUTHENTICATE_TEST), { record: false, reason: 'FILTER_NOT_MATCHED' });
    }
  });

  it('documented deviation: subdocument equality ignores key order (mongod compares in order)', () => {
    const policy = compileAuditPolicy({ enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: '{"param": {"mechanism": "SCRAM-SHA-1", "db": "admin", "user": "auditAdmin"}}' }, 1);
    assert.deepEqual(decideAudit(policy, AUTHENTICATE_ADMIN), { record: true });
  });
});

describe('audit filter parsing', () => {
  it('refuses what is not a document, does not parse, or cannot be evaluated', () => {
    for (const [filter, problem] of [
      ['{atype: }', /does not parse: Unexpected token at line 1/],
      ['{"atype": "authenticate"', /does not parse/],
      ['[{"atype": "authenticate"}]', /must be a document/],
      ['"authenticate"', /must be a document/],
      ['/auth/', /must be a document/],
      ['{ atype: this.constructor("return process")() }', /not a value/],
      ['{"atype": {"$foo": 1}}', /unknown query operator \$foo/],
      ['{"users": {"$elemMatch": {"db": {"$bar": 1}}}}', /unknown query operator \$bar/],
    ] as const) {
      assert.throws(() => compileAuditFilter(filter), (error: unknown) => error instanceof AuditFilterError && problem.test(error.message), filter);
    }
  });

  it('accepts comments and the relaxed shell forms, and decodes Extended JSON in the filter', () => {
    const compiled = compileAuditFilter('{ /* who */ "users.user": \'tim\', ts: { "$gte": { "$date": "2026-01-01T00:00:00Z" } }, n: NumberLong(5) }');
    assert.ok(compiled.document.ts && (compiled.document.ts as { $gte: unknown }).$gte instanceof Date);
    assert.equal(compiled.document.n, 5);
  });

  it('a patch keeps fields it does not name, trims the filter, and refuses a bad one with VT_ERR_AUDIT_FILTER_INVALID', () => {
    const base = applyAuditConfigPatch(UNCONFIGURED, { enabled: true, auditFilter: '  {"atype": "authenticate"}\n' });
    assert.deepEqual(base, { enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: '{"atype": "authenticate"}' });
    assert.deepEqual(applyAuditConfigPatch(base, { enabled: false }), { ...base, enabled: false });
    assert.deepEqual(applyAuditConfigPatch(base, { auditFilter: null }), { enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON' });
    assert.throws(
      () => applyAuditConfigPatch(base, { auditFilter: '{atype: ' }),
      (error: unknown) => error instanceof VeritrailError && error.code === 'VT_ERR_AUDIT_FILTER_INVALID' && error.details?.[0]?.field === 'auditFilter',
    );
  });
});

describe('Extended JSON decoding', () => {
  it('decodes wrappers to plain values and leaves query operators and plain objects alone', () => {
    const event = { ts: { $date: '2026-08-10T03:04:49.123+00:00' }, n: { $numberLong: '7' }, id: { $oid: '0123456789abcdef01234567' }, q: { $regex: 'a', $options: 'i' }, t: { $type: 'int' }, plain: { a: 1 } };
    const decoded = decodeExtendedJson(event) as Record<string, unknown>;
    assert.deepEqual(decoded.ts, new Date('2026-08-10T03:04:49.123Z'));
    assert.equal(decoded.n, 7);
    assert.equal(decoded.id, '0123456789abcdef01234567');
    assert.equal(decoded.q, event.q);
    assert.equal(decoded.t, event.t);
    assert.equal(decoded.plain, event.plain, 'untouched objects are not copied');
    assert.deepEqual(event.ts, { $date: '2026-08-10T03:04:49.123+00:00' }, 'the input is not changed');
    const plain = { a: [1, { b: 'c' }] };
    assert.equal(decodeExtendedJson(plain), plain);
    assert.deepEqual(decodeExtendedJson({ $date: 'not a date' }), { $date: 'not a date' }, 'a bad wrapper stays data');
  });
});
