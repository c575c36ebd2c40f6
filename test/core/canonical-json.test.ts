/** RFC 8785 canonical JSON, against the spec vector and an independent implementation. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import reference from 'canonicalize';
import { canonicalize, CanonicalJsonError } from '../../src/core/canonical-json.ts';

const referenceCanonicalize = reference as unknown as (value: unknown) => string;

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/** Random JSON values with awkward keys and numbers, as JSON.parse would produce them. */
function randomValue(random: () => number, depth: number): unknown {
  const keys = ['a', 'b', 'B', '10', '9', '0', '1', '__proto__', 'é', '\u20ac', '\ud83d\ude00', '\uffff', '', 'key with space', 'constructor', '-1', '01'];
  const pick = random();
  if (depth > 4 || pick < 0.35) {
    const leaves = [null, true, false, 0, -0, 1, -1.5, 1e21, 1e-7, 123456789012345680000, 0.1 + 0.2, 2 ** 53, 'text', 'é\n\u001f/', '\ud83d\ude00', ''];
    return leaves[Math.floor(random() * leaves.length)];
  }
  if (pick < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  const text = '{' + Array.from({ length: Math.floor(random() * 6) }, () => `${JSON.stringify(keys[Math.floor(random() * keys.length)])}:${JSON.stringify(randomValue(random, depth + 1))}`).join(',') + '}';
  return JSON.parse(text);
}

describe('canonical JSON (RFC 8785)', () => {
  it('matches the spec/tlog.md §6.1 vector byte for byte', () => {
    const input = JSON.parse('{"b":[1,2.50,1e21,1e-7,-0,0.000001,123456789012345678901],"a":"\\u00e9\\n\\u001f/","\\u20ac":true,"\\ud83d\\ude00":null,"\\uffff":{}}');
    const output = canonicalize(input);
    assert.equal(output, '{"a":"é\\n\\u001f/","b":[1,2.5,1e+21,1e-7,0,0.000001,123456789012345680000],"€":true,"😀":null,"￿":{}}');
    assert.equal(createHash('sha256').update(output, 'utf8').digest('hex'), '0f80b3b871cd51ecf26b613961373c5cd22042e85f4717264d4e99260010481b');
  });

  it('agrees with the canonicalize package on 5,000 random values', () => {
    const random = rng(42);
    for (let i = 0; i < 5000; i++) {
      const value = randomValue(random, 0);
      assert.equal(canonicalize(value), referenceCanonicalize(value), JSON.stringify(value));
    }
  });

  it('orders integer-like keys as UTF-16 strings, not as V8 enumerates them', () => {
    assert.equal(canonicalize(JSON.parse('{"9":1,"10":2,"a":3}')), '{"10":2,"9":1,"a":3}');
    assert.equal(canonicalize(JSON.parse('{"x":{"2":0,"10":0}}')), '{"x":{"10":0,"2":0}}');
  });

  it('keeps "__proto__" as a member and never touches prototypes', () => {
    const value = JSON.parse('{"z":1,"__proto__":{"admin":true}}');
    assert.equal(canonicalize(value), '{"__proto__":{"admin":true},"z":1}');
    assert.equal(canonicalize(JSON.parse('[{"z":1,"__proto__":{"b":1,"a":2}}]')), '[{"__proto__":{"a":2,"b":1},"z":1}]');
    // Members already in order, but the object is rebuilt because a member below it changed.
    assert.equal(canonicalize(JSON.parse('{"__proto__":{"admin":true},"a":{"c":1,"b":2}}')), '{"__proto__":{"admin":true},"a":{"b":2,"c":1}}');
    assert.equal(({} as { admin?: boolean }).admin, undefined);
  });

  it('refuses what JSON cannot hold: lone surrogates, non-finite numbers, deep nesting', () => {
    assert.throws(() => canonicalize({ s: '\ud800' }), CanonicalJsonError);
    assert.throws(() => canonicalize({ n: Number.NaN }), CanonicalJsonError);
    assert.throws(() => canonicalize({ n: Infinity }), CanonicalJsonError);
    assert.throws(() => canonicalize({ f: () => 1 }), CanonicalJsonError);
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    assert.throws(() => canonicalize(deep), CanonicalJsonError);
  });
});
