/**
 * HTTP Digest pieces (spec/atlas.md §7.1): the challenge shape, header parsing, uri matching,
 * and the nonce rules (stateless, stale after 5 minutes, nc strictly increasing per nonce,
 * bounded memory that never lets a forgotten nonce be replayed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { digestChallenge, digestUriMatches, parseDigestCredentials, expectedDigestResponse, digestHa1 } from '../../src/auth/digest.ts';
import { DigestNonces } from '../../src/auth/digest-nonces.ts';
import { digestAuthorization } from '../helpers/digest-client.ts';

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('digest wire pieces', () => {
  it('the challenge has exactly the recorded parameters, order and separators', () => {
    const nonces = new DigestNonces(randomBytes(32));
    const nonce = nonces.issue();
    assert.match(nonce, /^[A-Za-z0-9+/]{32}$/);
    assert.equal(digestChallenge(nonce, false), `Digest realm="MMS Public API", domain="", nonce="${nonce}", algorithm=MD5, qop="auth", stale=false`);
    const parts = digestChallenge(nonce, true).replace(/^Digest /, '').split(', ');
    assert.deepEqual(parts.map((p) => p.split('=')[0]), ['realm', 'domain', 'nonce', 'algorithm', 'qop', 'stale'], "Go's client splits on \", \" and knows only these");
    assert.equal(parts.at(-1), 'stale=true');
  });

  it('parses quoted and bare values, escapes, any algorithm spelling, and checks the answer', () => {
    const header = digestAuthorization({ username: 'abc', password: 'secret', method: 'GET', uri: '/a?b=1', nonce: 'n'.repeat(32), nc: 3, cnonce: 'c1' });
    const parsed = parseDigestCredentials(header)!;
    assert.equal(parsed.username, 'abc');
    assert.equal(parsed.nc, '00000003');
    assert.equal(parsed.qop, 'auth');
    assert.equal(parsed.response, expectedDigestResponse(digestHa1('abc', 'secret'), 'GET', parsed));
    assert.equal(parseDigestCredentials('Digest username="a\\"b", realm="r", nonce="n", uri="/", response="x", algorithm="MD5",')?.username, 'a"b');
    assert.equal(parseDigestCredentials('Basic abc'), undefined);
    assert.equal(parseDigestCredentials('Digest username="a", realm="r"'), undefined, 'missing nonce, uri, response');
    assert.equal(parseDigestCredentials('Digest username="a" realm="r"'), undefined, 'no separator');
  });

  it('matches the uri leniently: a bare trailing ? and an absolute URI', () => {
    assert.ok(digestUriMatches('/api/x?pretty=true', '/api/x?pretty=true'));
    assert.ok(digestUriMatches('/api/x', '/api/x?'));
    assert.ok(digestUriMatches('http://127.0.0.1:8080/api/x?a=1', '/api/x?a=1'));
    assert.ok(!digestUriMatches('/api/y', '/api/x'));
    assert.ok(!digestUriMatches('/api/x?a=2', '/api/x?a=1'));
  });
});

describe('digest nonces', () => {
  it('refuses nonces it did not issue, and answers stale after the lifetime', () => {
    const time = clock();
    const nonces = new DigestNonces(randomBytes(32), time);
    const nonce = nonces.issue();
    assert.equal(nonces.check(nonce), 'valid');
    assert.equal(new DigestNonces(randomBytes(32), time).check(nonce), 'invalid', 'another secret');
    const flipped = (nonce[0] === 'A' ? 'B' : 'A') + nonce.slice(1);
    assert.equal(nonces.check(flipped), 'invalid');
    assert.equal(nonces.check('not-a-nonce'), 'invalid');
    time.advance(5 * 60_000);
    assert.equal(nonces.check(nonce), 'valid');
    time.advance(1001);
    assert.equal(nonces.check(nonce), 'stale');
  });

  it('nodes sharing the secret accept each other\'s nonces', () => {
    const key = randomBytes(32);
    assert.equal(new DigestNonces(key).check(new DigestNonces(key).issue()), 'valid');
  });

  it('accepts any first nc and any later, larger one; refuses a repeated or smaller nc', () => {
    const nonces = new DigestNonces(randomBytes(32));
    const nonce = nonces.issue();
    assert.equal(nonces.use(nonce, 7), true, 'urllib starts wherever its process-wide counter is');
    assert.equal(nonces.use(nonce, 9), true, 'gaps are fine');
    assert.equal(nonces.use(nonce, 9), false, 'a replay');
    assert.equal(nonces.use(nonce, 8), false);
    assert.equal(nonces.use(nonces.issue(), 1), true, 'each nonce has its own count');
  });

  it('stays bounded, and a forgotten nonce is stale rather than replayable', () => {
    const time = clock();
    const nonces = new DigestNonces(randomBytes(32), time, { maxTracked: 3 });
    const old = nonces.issue();
    assert.equal(nonces.use(old, 1), true);
    time.advance(1000);
    for (let i = 0; i < 3; i++) assert.equal(nonces.use(nonces.issue(), 1), true);
    assert.equal(nonces.use(old, 1), 'stale', 'evicted: a replay of nc=1 is not accepted');
    assert.equal(nonces.use(old, 2), 'stale');
    time.advance(1000);
    assert.equal(nonces.use(nonces.issue(), 1), true, 'a nonce issued after the horizon is fresh');
  });
});
