/**
 * OAuth 2 access tokens for service accounts (spec/atlas.md §7.3), stateless:
 *
 *   vtat_<key id>.<expiry, Unix seconds>.<token id>.<base64url HMAC-SHA256 of the three>
 *
 * The MAC key is derived from the server secret, so every node sharing it accepts a token any
 * of them issued, and nothing is written per token. Each use still reads the service account's
 * key (`findKeyById`, no cache): revoking the key stops all its tokens on every node at once.
 *
 * Revoking one token (`POST /api/oauth/revoke`, RFC 7009) puts its id on a deny list in the
 * store until it expires (`revokeAccessToken`), so it stops on every node at once and stays
 * stopped across restarts; each use reads that list beside the key, in parallel.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.ts';
import { VT_ERR_AUTH_INVALID, VT_ERR_AUTH_TOKEN_EXPIRED, VT_ERR_OAUTH_CLIENT_INVALID, VT_ERR_OAUTH_REVOCATIONS_FULL } from '../core/errors.ts';
import type { KeyRecord, Store } from '../store/store.ts';
import { keyIdOfClientId, secretMatches } from './api-keys.ts';
import type { Authenticator } from './authenticator.ts';
import type { Principal } from './principal.ts';

/** Atlas's tokens last an hour; clients renew ahead of `expires_in`. */
export const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
/** Revoked, unexpired tokens listed at once (store.ts revokeAccessToken); a revocation beyond this is refused (503). */
export const DEFAULT_MAX_REVOKED_TOKENS = 100_000;

const TOKEN = /^vtat_([0-9a-f]{24})\.(\d{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

interface ParsedToken {
  keyId: string;
  expiresSec: number;
  tokenId: string;
}

export class AccessTokens {
  private readonly lifetimeSeconds: number;
  private readonly maxRevoked: number;

  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    private readonly authenticator: Authenticator,
    private readonly clock: Clock = systemClock,
    options: { lifetimeSeconds?: number; maxRevoked?: number } = {},
  ) {
    this.lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS;
    this.maxRevoked = options.maxRevoked ?? DEFAULT_MAX_REVOKED_TOKENS;
  }

  /**
   * The live service account with these client credentials. Throws VT_ERR_OAUTH_CLIENT_INVALID
   * for an unknown or revoked client, a wrong secret, or a key of another type.
   */
  async client(clientId: string, clientSecret: string): Promise<KeyRecord> {
    const keyId = keyIdOfClientId(clientId);
    const key = keyId === undefined ? undefined : await this.store.findKeyById(keyId);
    if (!key || key.type !== 'service-account' || !secretMatches(key, clientSecret)) throw new VT_ERR_OAUTH_CLIENT_INVALID();
    return key;
  }

  /** A new token for a service account `client` has just authenticated. */
  issue(key: KeyRecord): { accessToken: string; expiresIn: number; principal: Principal } {
    const expiresSec = Math.floor(this.clock.now() / 1000) + this.lifetimeSeconds;
    const body = `${key.id}.${expiresSec}.${randomBytes(16).toString('hex')}`;
    return { accessToken: `vtat_${body}.${this.mac(body)}`, expiresIn: this.lifetimeSeconds, principal: this.authenticator.principalOf(key) };
  }

  /** The principal of a Bearer access token; 401 when it is forged, expired, revoked or its key is. */
  async authenticate(token: string): Promise<Principal> {
    const parsed = this.parse(token);
    if (!parsed) throw new VT_ERR_AUTH_INVALID();
    if (parsed.expiresSec * 1000 <= this.clock.now()) throw new VT_ERR_AUTH_TOKEN_EXPIRED();
    const [key, revoked] = await Promise.all([this.store.findKeyById(parsed.keyId), this.store.isAccessTokenRevoked(parsed.tokenId)]);
    if (!key || key.type !== 'service-account' || revoked) throw new VT_ERR_AUTH_INVALID();
    return this.authenticator.principalOf(key);
  }

  /**
   * Revokes a token issued to `keyId` (RFC 7009 §2.2: an unknown or foreign token is not an
   * error, and nothing happens). With the deny list full, refuses until its first token expires.
   */
  async revoke(token: string, keyId: string): Promise<void> {
    const parsed = this.parse(token);
    if (!parsed) return;
    const nowSec = this.clock.now() / 1000;
    // An expired token needs no entry: its own expiry refuses it.
    if (parsed.keyId !== keyId || parsed.expiresSec <= nowSec) return;
    const outcome = await this.store.revokeAccessToken(parsed.tokenId, parsed.expiresSec, { nowSec: Math.floor(nowSec), max: this.maxRevoked });
    if (!outcome.listed) throw new VT_ERR_OAUTH_REVOCATIONS_FULL(Math.max(1, Math.ceil(outcome.firstExpirySec - nowSec)));
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private parse(token: string): ParsedToken | undefined {
    const match = TOKEN.exec(token);
    if (!match) return undefined;
    const [, keyId, expires, tokenId, mac] = match as unknown as [string, string, string, string, string];
    const expected = Buffer.from(this.mac(`${keyId}.${expires}.${tokenId}`));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    return { keyId, expiresSec: Number(expires), tokenId };
  }
}
