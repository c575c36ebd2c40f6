/**
 * Veritrail API keys: `vt_` followed by 32 random bytes in base64url. A key has 256 bits of
 * entropy, so a plain SHA-256 is the right stored form (a slow password hash buys nothing
 * against keys that cannot be guessed); the key itself is shown once and never stored.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isoTime } from '../core/clock.ts';
import { isProjectId, newKeyId } from '../core/ids.ts';
import type { SecretBox } from '../core/secret-box.ts';
import { digestHa1, digestHa1Purpose } from './digest.ts';
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

/** What a new key needs beyond a native one: its type, and for `atlas` keys the box that seals its HA1. */
export type KeyCredentials = { type: 'native' } | { type: 'atlas'; secretBox: SecretBox } | { type: 'service-account' };

/** The OAuth client id of a service account: Atlas's `mdb_sa_id_` prefix and the key id. */
export function serviceAccountClientId(keyId: string): string {
  return SERVICE_ACCOUNT_PREFIX + keyId;
}

/** The key id inside a service account's client id, or undefined when it is not one. */
export function keyIdOfClientId(clientId: string): string | undefined {
  return clientId.startsWith(SERVICE_ACCOUNT_PREFIX) && isProjectId(clientId.slice(SERVICE_ACCOUNT_PREFIX.length)) ? clientId.slice(SERVICE_ACCOUNT_PREFIX.length) : undefined;
}
const SERVICE_ACCOUNT_PREFIX = 'mdb_sa_id_';

/**
 * A new key: the record to store and the secret to show once. An `atlas` key also stores its
 * HTTP Digest HA1 sealed under the server secret (auth/digest.ts says why it cannot be a hash).
 */
export function newApiKey(
  role: Role,
  projectId: string | null,
  description: string,
  nowMs: number,
  credentials: KeyCredentials = { type: 'native' },
): { record: KeyRecord; secret: string } {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  const id = newKeyId();
  const record: KeyRecord = { id, projectId, role, description, createdAt: isoTime(nowMs), lastUsedAt: null, secretHash: hashSecret(secret) };
  if (credentials.type !== 'native') record.type = credentials.type;
  if (credentials.type === 'atlas') record.digestHa1Sealed = credentials.secretBox.seal(digestHa1(id, secret), digestHa1Purpose(id));
  return { secret, record };
}

/** True when `secret` is the key's secret (compared by hash, in constant time). */
export function secretMatches(key: KeyRecord, secret: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(key.secretHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
