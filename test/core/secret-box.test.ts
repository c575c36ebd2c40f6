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
});
