/**
 * Turns credentials into a principal. Every request reads the key table (no cache), so a key
 * revoked on any node fails on its very next request; the lookup is one indexed read.
 */
import { isoTime, systemClock, type Clock } from '../core/clock.ts';
import { VT_ERR_AUTH_INVALID, VT_ERR_AUTH_MISSING } from '../core/errors.ts';
import type { KeyRecord, Store } from '../store/store.ts';
import { hashSecret, looksLikeKey } from './api-keys.ts';
import { bearerToken } from './bearer-token.ts';
import type { Principal } from './principal.ts';

/** lastUsedAt is written at most this often per key, to keep writes off the hot path. */
export const KEY_TOUCH_INTERVAL_MS = 60_000;

export class Authenticator {
  /** When each key's lastUsedAt was last written. Owned by the event loop. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock,
  ) {}

  /** The principal of an `Authorization` header value; throws 401 for anything else. */
  async fromAuthorization(header: string | undefined): Promise<Principal> {
    const token = bearerToken(header);
    if (!token) throw new VT_ERR_AUTH_MISSING();
    return this.fromSecret(token);
  }

  /** The principal of a raw key; throws 401 when it is unknown or revoked. */
  async fromSecret(secret: string): Promise<Principal> {
    if (!looksLikeKey(secret)) throw new VT_ERR_AUTH_INVALID();
    const key = await this.store.findKeyBySecretHash(hashSecret(secret));
    if (!key) throw new VT_ERR_AUTH_INVALID();
    return this.principalOf(key);
  }

  /** The principal of a live key another scheme (Digest, an access token) has authenticated. */
  principalOf(key: KeyRecord): Principal {
    this.touch(key.id);
    return { keyId: key.id, role: key.role, projectId: key.projectId };
  }

  private touch(keyId: string): void {
    const now = this.clock.now();
    const last = this.touched.get(keyId);
    if (last !== undefined && now - last < KEY_TOUCH_INTERVAL_MS) return;
    this.touched.set(keyId, now);
    if (this.touched.size > 100_000) this.touched.clear();
    this.store.touchKey(keyId, isoTime(now)).catch(() => this.touched.delete(keyId));
  }
}
