/**
 * Short-lived session tokens for dialects that log in with a user name and password (Qumulo's
 * `POST /v1/session/login`). A token is the caller's API key sealed with an expiry under the
 * server secret (core/secret-box.ts): opaque to the client, useless after it expires, and
 * checked against the live key table on every request, so revoking the key ends every session
 * made with it at once. Nothing is stored.
 */
import type { SecretBox } from '../core/secret-box.ts';

/** How long a session lasts. */
export const DEFAULT_SESSION_TTL_MS = 3600_000;
const PREFIX = 'vts1.';
const PURPOSE = 'session token';

export function issueSessionToken(box: SecretBox, apiKey: string, nowMs: number, ttlMs = DEFAULT_SESSION_TTL_MS): string {
  return PREFIX + box.seal(JSON.stringify({ key: apiKey, expires: nowMs + ttlMs }), PURPOSE);
}

/** The API key inside a live token; undefined when it is not one, was altered, or expired. */
export function openSessionToken(box: SecretBox, token: string, nowMs: number): string | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  try {
    const { key, expires } = JSON.parse(box.open(token.slice(PREFIX.length), PURPOSE)) as { key: unknown; expires: unknown };
    return typeof key === 'string' && typeof expires === 'number' && nowMs < expires ? key : undefined;
  } catch {
    return undefined;
  }
}
