/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), for every scheme that
 * takes one: native keys, Atlas access tokens, Qumulo session tokens, and the rate limit's bucket.
 */

const BEARER = /^Bearer +(\S+)\s*$/i;

/** The token, or undefined for no header, another scheme or a malformed value. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}
