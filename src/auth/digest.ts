/**
 * HTTP Digest (RFC 7616 / RFC 2617; MD5, qop=auth) as Atlas's programmatic API keys use it
 * (spec/atlas.md §7.1): the wire pieces, with no state. The username is the key id (the Atlas
 * "public key") and the password the key itself (the "private key").
 *
 * Why HA1 is stored sealed rather than hashed: Digest never sends the password, so the server
 * must compute `MD5(HA1 ":" nonce ":" …)` itself, and HA1 = MD5(user ":" realm ":" password) is
 * all it needs. HA1 is password-equivalent for Digest (whoever holds it can answer any
 * challenge), though not for Bearer, which checks the key's SHA-256 hash. So HA1 is computed
 * once, when the key is made, and stored encrypted under the server secret; the realm can then
 * never change.
 */
import { createHash } from 'node:crypto';

/** Atlas's realm, recorded in real traffic; part of every stored HA1, so fixed forever. */
export const DIGEST_REALM = 'MMS Public API';

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** HA1 = MD5(username ":" realm ":" password). */
export function digestHa1(username: string, password: string): string {
  return md5(`${username}:${DIGEST_REALM}:${password}`);
}

/** The SecretBox purpose a key's HA1 is sealed under: bound to the key id, so it cannot move. */
export function digestHa1Purpose(keyId: string): string {
  return `digest-ha1:${keyId}`;
}

/**
 * The challenge, in exactly the recorded shape: these parameters only, in this order, joined by
 * `", "` (Go's `mongodb-forks/digest` splits on that and refuses any other parameter).
 */
export function digestChallenge(nonce: string, stale: boolean): string {
  return `Digest realm="${DIGEST_REALM}", domain="", nonce="${nonce}", algorithm=MD5, qop="auth", stale=${stale}`;
}

/** The parameters of an `Authorization: Digest …` header. */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

/**
 * Parses `Digest k=v, k="v", …` (quoted or token values, `\` escapes in quoted ones). Returns
 * undefined when the header is not Digest or lacks a required parameter.
 */
export function parseDigestCredentials(raw: string): DigestCredentials | undefined {
  const header = raw.trim().replace(/,$/, '');
  const scheme = /^Digest\s+/i.exec(header);
  if (!scheme) return undefined;
  const params: Record<string, string> = Object.create(null);
  const pattern = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  for (let pos = scheme[0].length; pos < header.length; pos = pattern.lastIndex) {
    pattern.lastIndex = pos;
    const match = pattern.exec(header);
    if (!match) return undefined;
    params[match[1]!.toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
  }
  const { username, realm, nonce, uri, response } = params;
  if (!username || realm === undefined || !nonce || uri === undefined || !response) return undefined;
  return { ...params, username, realm, nonce, uri, response } as DigestCredentials;
}

/** The response a client holding `ha1` must send (RFC 7616 §3.4.1; RFC 2069 form without qop). */
export function expectedDigestResponse(ha1: string, method: string, credentials: DigestCredentials): string {
  const ha2 = md5(`${method}:${credentials.uri}`);
  if (credentials.qop === undefined) return md5(`${ha1}:${credentials.nonce}:${ha2}`);
  return md5(`${ha1}:${credentials.nonce}:${credentials.nc}:${credentials.cnonce}:${credentials.qop}:${ha2}`);
}

/**
 * True when the client's `uri` names the request target: equal path and equal query, a bare
 * trailing `?` ignored (urllib drops it), an absolute URI reduced to its path and query.
 */
export function digestUriMatches(uri: string, requestTarget: string): boolean {
  const normalise = (target: string) => {
    const relative = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/i.exec(target)?.[1] ?? target;
    return relative.endsWith('?') ? relative.slice(0, -1) : relative;
  };
  return normalise(uri) === normalise(requestTarget);
}
