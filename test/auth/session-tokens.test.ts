/** Session tokens (src/auth/session-tokens.ts): opaque, bound to the server secret, and short-lived. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';
import { issueSessionToken, openSessionToken } from '../../src/auth/session-tokens.ts';

describe('session tokens', () => {
  const box = new SecretBox(randomBytes(32));
  const key = `vt_${'a'.repeat(43)}`;

  it('open to the key until they expire, and hide it', () => {
    const token = issueSessionToken(box, key, 1_000, 60_000);
    assert.ok(!token.includes(key));
    assert.equal(openSessionToken(box, token, 60_999), key);
    assert.equal(openSessionToken(box, token, 61_000), undefined);
  });

  it('refuse an altered token, another server secret, and anything that is not a token', () => {
    const token = issueSessionToken(box, key, 0, 60_000);
    const altered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal(openSessionToken(box, altered, 1), undefined);
    assert.equal(openSessionToken(new SecretBox(randomBytes(32)), token, 1), undefined);
    assert.equal(openSessionToken(box, key, 1), undefined);
    assert.equal(openSessionToken(box, 'vts1.x.y.z', 1), undefined);
  });
});
