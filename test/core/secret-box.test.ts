import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box.ts';

describe('secret box', () => {
  it('round-trips, and refuses another purpose, another key, or an altered box', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('wJalrXUtnFEMI/K7MDENG', 'destination:aws-secret');
    assert.ok(!sealed.includes('wJalr'));
    assert.notEqual(box.seal('x', 'p'), box.seal('x', 'p'), 'a fresh IV each time');
    assert.equal(box.open(sealed, 'destination:aws-secret'), 'wJalrXUtnFEMI/K7MDENG');
    assert.throws(() => box.open(sealed, 'digest:ha1'));
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'destination:aws-secret'));
    const parts = sealed.split('.');
    parts[2] = Buffer.from('tampered').toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'destination:aws-secret'));
    assert.throws(() => new SecretBox(randomBytes(16)));
  });

  it('derives one key per purpose, the same on every node that shares the secret', () => {
    const secret = randomBytes(32);
    const a = new SecretBox(secret);
    assert.deepEqual(a.deriveKey('digest nonces'), new SecretBox(Buffer.from(secret)).deriveKey('digest nonces'));
    assert.notDeepEqual(a.deriveKey('digest nonces'), a.deriveKey('oauth access tokens'));
    assert.notDeepEqual(a.deriveKey('digest nonces'), new SecretBox(randomBytes(32)).deriveKey('digest nonces'));
    assert.equal(a.deriveKey('x').length, 32);
  });
});
