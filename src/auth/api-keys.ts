/**
 * Veritrail API keys: `vt_` followed by 32 random bytes in base64url. A key has 256 bits of
 * entropy, so a plain SHA-256 is the right stored form (a slow password hash buys nothing
 * against keys that cannot be guessed); the key itself is shown once and never stored.
 */
import { hash, randomBytes } from 'node:crypto';
import { isoTime } from '../core/clock.ts';
import { newKeyId } from '../core/ids.ts';
import type { Role } from '../core/roles.ts';
import type { KeyRecord } from '../store/store.ts';

export const KEY_PREFIX = 'vt_';
const KEY_PATTERN = /^vt_[A-Za-z0-9_-]{43}$/;
/** A key anywhere inside a text, for scrubbing logs and records (global: use with replace). */
export const KEY_IN_TEXT = /vt_[A-Za-z0-9_-]{43}/g;

export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** True when `value` has the form of a Veritrail key (it may still be unknown). */
export function looksLikeKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}

/** A new key: the record to store and the secret to show once. */
export function newApiKey(role: Role, projectId: string | null, description: string, nowMs: number): { record: KeyRecord; secret: string } {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  return {
    secret,
    record: {
      id: newKeyId(),
      projectId,
      role,
      description,
      createdAt: isoTime(nowMs),
      lastUsedAt: null,
      secretHash: hashSecret(secret),
    },
  };
}
