/**
 * Authenticates `Authorization: Digest …` requests with `atlas` keys (spec/atlas.md §7.1).
 * Errors: VT_ERR_AUTH_INVALID for anything wrong (the caller presented credentials and they
 * were refused), VT_ERR_AUTH_NONCE_STALE when the answer was right but the nonce too old or
 * forgotten (the client retries on `stale=true` without asking its user).
 */
import { timingSafeEqual } from 'node:crypto';
import { VT_ERR_AUTH_INVALID, VT_ERR_AUTH_NONCE_STALE } from '../core/errors.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Store } from '../store/store.ts';
import type { Authenticator } from './authenticator.ts';
import { DIGEST_REALM, digestChallenge, digestHa1Purpose, digestUriMatches, expectedDigestResponse, parseDigestCredentials } from './digest.ts';
import type { DigestNonces } from './digest-nonces.ts';
import type { Principal } from './principal.ts';

const NC = /^[0-9a-f]{8}$/i;

export class DigestAuthenticator {
  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    private readonly authenticator: Authenticator,
    readonly nonces: DigestNonces,
  ) {}

  /** A `WWW-Authenticate` value with a new nonce. */
  challenge(stale = false): string {
    return digestChallenge(this.nonces.issue(), stale);
  }

  /** The principal of a Digest `Authorization` header for `method` and the request target. */
  async authenticate(header: string, method: string, requestTarget: string): Promise<Principal> {
    const credentials = parseDigestCredentials(header);
    if (!credentials || credentials.realm !== DIGEST_REALM) throw new VT_ERR_AUTH_INVALID();
    if (credentials.algorithm !== undefined && credentials.algorithm.toUpperCase() !== 'MD5') throw new VT_ERR_AUTH_INVALID();
    if (credentials.qop !== undefined && (credentials.qop !== 'auth' || !credentials.cnonce || !NC.test(credentials.nc ?? ''))) {
      throw new VT_ERR_AUTH_INVALID();
    }
    if (!digestUriMatches(credentials.uri, requestTarget)) throw new VT_ERR_AUTH_INVALID();
    const nonce = this.nonces.check(credentials.nonce);
    if (nonce === 'invalid') throw new VT_ERR_AUTH_INVALID();

    const key = await this.store.findKeyById(credentials.username);
    if (!key?.digestHa1Sealed) throw new VT_ERR_AUTH_INVALID();
    let ha1: string;
    try {
      ha1 = this.secretBox.open(key.digestHa1Sealed, digestHa1Purpose(key.id));
    } catch (error) {
      throw new Error(`couldn't open the Digest HA1 of key ${key.id}; was the server secret changed?`, { cause: error });
    }
    const expected = Buffer.from(expectedDigestResponse(ha1, method, credentials), 'utf8');
    const given = Buffer.from(credentials.response.toLowerCase(), 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new VT_ERR_AUTH_INVALID();

    // The answer is right: from here on the only problems are freshness and replay.
    if (nonce === 'stale') throw new VT_ERR_AUTH_NONCE_STALE();
    // Without qop (RFC 2069) there is no nc: each nonce then authenticates one request.
    const nc = credentials.qop === undefined ? 1 : parseInt(credentials.nc!, 16);
    const used = this.nonces.use(credentials.nonce, nc);
    if (used === 'stale') throw new VT_ERR_AUTH_NONCE_STALE();
    if (!used) throw new VT_ERR_AUTH_INVALID();
    // Nodes sharing the store: this node's table has not seen what another node accepted.
    if (this.store.capabilities.concurrentWriters && !(await this.store.recordDigestNonceUse(credentials.nonce, nc, this.nonces.issuedSec(credentials.nonce)!, this.nonces.expiredBeforeSec()))) {
      throw new VT_ERR_AUTH_INVALID();
    }
    return this.authenticator.principalOf(key);
  }
}
