/** MongoDB query documents through mingo (core/mongo-query.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileMongoQuery, MongoQueryError } from '../../src/core/mongo-query.ts';

const message = {
  atype: 'authenticate',
  ts: { $date: '2026-08-10T03:04:49.123+00:00' },
  users: [{ user: 'tim', db: 'admin' }],
  roles: [{ role: 'readWrite', db: 'test' }],
  param: { user: 'tim', db: 'test', ns: 'test.orders' },
  result: 0,
};

describe('compileMongoQuery', () => {
  it('evaluates the example filters of spec/atlas.md §9.3', () => {
    const cases: Array<[unknown, boolean]> = [
      [{ atype: { $in: ['createCollection', 'dropCollection'] } }, false],
      [{ atype: 'authenticate', 'param.db': 'test' }, true],
      [{ 'param.ns': { $regex: '^test\\.' } }, true],
      [{ $or: [{ atype: 'authCheck' }, { 'roles.role': 'readWrite' }] }, true],
      [{ 'users.user': 'tim' }, true],
      [{ users: { $elemMatch: { db: 'admin' } }, atype: { $in: ['authenticate'] } }, true],
      [{ users: { $size: 0 } }, false],
      [{ result: { $ne: 0 } }, false],
    ];
    for (const [query, expected] of cases) assert.equal(compileMongoQuery(query)(message), expected, JSON.stringify(query));
  });

  it('compares Extended JSON dates as times, on both sides', () => {
    const after = compileMongoQuery({ ts: { $gte: { $date: '2026-08-10T00:00:00Z' } } });
    const before = compileMongoQuery({ ts: { $lt: { $date: '2026-08-10T00:00:00Z' } } });
    assert.equal(after(message), true);
    assert.equal(before(message), false);
  });

  it('refuses what does not parse, with the reason, and anything that would run code', () => {
    for (const [query, reason] of [
      [[1], /not an array/],
      [null, /not null/],
      [{ $foo: 1 }, /unknown top level operator: \$foo/],
      [{ a: { $bogus: 1 } }, /unknown query operator \$bogus/],
      [{ a: { $regex: '(' } }, /Invalid regular expression/],
      [{ $where: 'this.a == 1' }, /scriptEnabled/],
      [{ $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } }, /scriptEnabled/],
    ] as const) {
      assert.throws(() => compileMongoQuery(query), (error: unknown) => error instanceof MongoQueryError && reason.test(error.message), JSON.stringify(query));
    }
  });

  it('an event or a query with a __proto__ member pollutes nothing', () => {
    const event = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    compileMongoQuery(JSON.parse('{"__proto__": {"polluted": true}}'))(event);
    assert.throws(() => compileMongoQuery({ '__proto__.polluted': true }), /__proto__ is not allowed/);
    assert.equal(compileMongoQuery({ a: 1 })(event), true);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
