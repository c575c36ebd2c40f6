/**
 * Removing secrets from what Veritrail writes about the calls it serves: self-audit records
 * (by member name and by value) and log lines (by value, as a last line of defence under the
 * rule that no header or body is logged at all).
 */
import { KEY_IN_TEXT } from '../auth/api-keys.ts';

/** CloudTrail's own placeholder for values it will not show. */
export const REDACTED = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/**
 * Members whose values are secrets wherever they appear, matched on the member name at any
 * depth: keys, passwords and passphrases, tokens, credentials, private, signing and other
 * symmetric keys, HMAC secrets, cookies, Authorization. Names that merely mention a key
 * (keyId, publicKey, kmsKeyId, accessKeyId) are identifiers, not secrets, and stay. Pagination
 * tokens (NextToken) are hidden too: over-hiding costs a little forensics, under-hiding a breach.
 */
const SECRET_MEMBER =
  /secret|passw(or)?d|passphrase|^pwd$|token|credential|cookie|hmac|^authorization$|^key$|^(x[-_])?api[-_]?key$|(private|signing|encryption|master|shared|session|client)[-_]?key/i;

/**
 * Secrets recognisable by their value, wherever they are (a key pasted into a description, a
 * PEM block, a bearer header inside a destination's settings, a JSON parser's error message
 * quoting the body it could not parse).
 */
const SECRET_VALUE = [
  KEY_IN_TEXT,
  // A PEM private key, to its END line; cut short at a quote so a JSON log line stays JSON.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^"]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|(?="|$))/g,
  /\bBearer\s+[\w.~+/=-]+/gi,
];

/** `text` with every secret recognisable by its value replaced by REDACTED. */
export function scrubSecrets(text: string): string {
  return SECRET_VALUE.reduce((out, pattern) => out.replace(pattern, REDACTED), text);
}

/** A deep copy of `value` with every secret member's value, and every secret-shaped string, replaced by REDACTED. */
export function withoutSecrets(value: unknown): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const [name, member] of Object.entries(value)) out[name] = SECRET_MEMBER.test(name) ? REDACTED : withoutSecrets(member);
  return out;
}
