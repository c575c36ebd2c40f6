/**
 * Encryption of stored secrets that a protocol needs back in clear (an HTTP Digest HA1, an AWS
 * secret access key, a webhook's HMAC key): AES-256-GCM under the server secret, with the
 * purpose bound in as associated data so a ciphertext cannot be replayed into another field.
 * Secrets that only need checking (API keys) are hashed instead, never stored this way.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';

export class SecretBox {
  private readonly key: Buffer;

  /** `serverSecret`: 32 or more random bytes. The AES key is derived from it with HKDF. */
  constructor(private readonly serverSecret: Buffer) {
    if (serverSecret.length < 32) throw new Error('the server secret must be at least 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'veritrail secret box v1', 32));
  }

  /**
   * A 32-byte key for one purpose (an HMAC over Digest nonces, over access tokens), derived from
   * the server secret with HKDF, so every node sharing the secret derives the same key and no
   * two purposes share one.
   */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.serverSecret, Buffer.alloc(0), `veritrail derived key v1: ${purpose}`, 32));
  }

  /** `v1.<iv>.<ciphertext>.<tag>` in base64url; `purpose` must be given again to open it. */
  seal(plaintext: string, purpose: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(purpose, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  /** The plaintext; throws when the box was sealed for another purpose, key, or was altered. */
  open(sealed: string, purpose: string): string {
    const [version, iv, ciphertext, tag] = sealed.split('.');
    if (version !== VERSION || !iv || ciphertext === undefined || !tag) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
