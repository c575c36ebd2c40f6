/**
 * A minimal HTTP Digest client (RFC 7616, MD5, qop=auth) for tests that need to control what
 * a real client would not let them: the nc, a replay, an old nonce. The real clients (curl,
 * urllib) are tested as well, in test/api/compat/atlas-clients.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

export interface Challenge {
  realm: string;
  nonce: string;
  qop: string;
  stale: string;
  algorithm: string;
}

/** The parameters of a `WWW-Authenticate: Digest …` header. */
export function parseChallenge(header: string | string[] | undefined): Challenge {
  const text = Array.isArray(header) ? header[0]! : header ?? '';
  const params = Object.fromEntries([...text.replace(/^Digest /, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1], m[2] ?? m[3]]));
  return params as unknown as Challenge;
}

export function digestAuthorization(options: { username: string; password: string; method: string; uri: string; nonce: string; nc?: number; cnonce?: string; realm?: string }): string {
  const realm = options.realm ?? 'MMS Public API';
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = options.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = md5(`${options.username}:${realm}:${options.password}`);
  const ha2 = md5(`${options.method}:${options.uri}`);
  const response = md5(`${ha1}:${options.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${options.username}", realm="${realm}", nonce="${options.nonce}", uri="${options.uri}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}"`;
}
