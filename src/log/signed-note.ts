/**
 * C2SP signed notes (c2sp.org/signed-note, spec/tlog.md §4) with Ed25519 keys (signature type
 * 0x01), in the key text formats of golang.org/x/mod/sumdb/note.
 */
import { createPrivateKey, createPublicKey, hash, sign, verify, generateKeyPairSync, type KeyObject } from 'node:crypto';

const ED25519 = 0x01;
// PKCS#8 DER prefix for a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const EM_DASH = '\u2014';

export class NoteError extends Error {
  override name = 'NoteError';
}

/** A key name: non-empty, no spaces, no '+' (signed-note "Signatures"). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

/** keyID = first 4 bytes of SHA-256(name || 0x0A || type || public key), big-endian (§4.3). */
export function keyId(name: string, publicKey: Buffer): Buffer {
  return hash('sha256', Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, ED25519]), publicKey]), 'buffer').subarray(0, 4);
}

export interface NoteVerifier {
  name: string;
  id: Buffer;
  publicKey: Buffer;
  /** `<name>+<hex id>+<base64(0x01 || public key)>` */
  text: string;
  key: KeyObject;
}

export interface NoteSigner extends NoteVerifier {
  seed: Buffer;
  privateKey: KeyObject;
  /** `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` */
  signerText: string;
}

/** A signer from a raw 32-byte seed. */
export function signerFromSeed(name: string, seed: Buffer): NoteSigner {
  if (!isValidKeyName(name)) throw new NoteError(`key name ${JSON.stringify(name)} is empty or holds a space or '+'`);
  if (seed.length !== 32) throw new NoteError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  const verifier = verifierFromPublicKey(name, publicKey);
  const encoded = Buffer.concat([Buffer.from([ED25519]), seed]).toString('base64');
  return { ...verifier, seed, privateKey, signerText: `PRIVATE+KEY+${name}+${verifier.id.toString('hex')}+${encoded}` };
}

/** A new random signer. */
export function generateSigner(name: string): NoteSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  return signerFromSeed(name, Buffer.from(seed));
}

export function verifierFromPublicKey(name: string, publicKey: Buffer): NoteVerifier {
  const id = keyId(name, publicKey);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
  const text = `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([ED25519]), publicKey]).toString('base64')}`;
  return { name, id, publicKey, text, key };
}

/** Parses `PRIVATE+KEY+<name>+<id>+<key>`, splitting on the first four '+' only (base64 holds '+'). */
export function parseSignerKey(text: string): NoteSigner {
  const parts = splitPlus(text.trim(), 5);
  if (!parts || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') throw new NoteError('not a PRIVATE+KEY signer key');
  const [, , name, idHex, encoded] = parts as [string, string, string, string, string];
  const raw = Buffer.from(encoded, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError('signer key is not an Ed25519 key');
  const signer = signerFromSeed(name, raw.subarray(1));
  if (signer.id.toString('hex') !== idHex) throw new NoteError('signer key id does not match its key');
  return signer;
}

/** Parses `<name>+<id>+<key>`, splitting on the first two '+' only. */
export function parseVerifierKey(text: string): NoteVerifier {
  const parts = splitPlus(text.trim(), 3);
  if (!parts) throw new NoteError('a verifier key is <name>+<hex key id>+<base64 key>');
  const [name, idHex, encoded] = parts as [string, string, string];
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('verifier key has a bad name or key id');
  const raw = Buffer.from(encoded, 'base64');
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError('verifier key is not an Ed25519 key');
  const verifier = verifierFromPublicKey(name, raw.subarray(1));
  if (verifier.id.toString('hex') !== idHex) throw new NoteError('verifier key id does not match its key');
  return verifier;
}

function splitPlus(text: string, count: number): string[] | undefined {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < count - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return undefined;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts.every((p) => p.length > 0) ? parts : undefined;
}

/** Signs `text` (which must end in a newline) and returns the whole note. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  const signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  return `${text}\n${EM_DASH} ${signer.name} ${Buffer.concat([signer.id, signature]).toString('base64')}\n`;
}

/**
 * Verifies a note and returns its text (§4.4 open_note). Signatures by unknown keys are ignored;
 * a known key whose signature fails rejects the note; at least one known key must sign.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): string {
  if (!note.endsWith('\n')) throw new NoteError('note does not end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new NoteError('note holds a control character');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('note has no signature block');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  let verified = false;
  for (const line of lines) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) throw new NoteError(`malformed signature line ${JSON.stringify(line)}`);
    const raw = Buffer.from(match[2]!, 'base64');
    if (raw.length < 5) throw new NoteError('signature is too short');
    const verifier = verifiers.find((v) => v.name === match[1] && v.id.equals(raw.subarray(0, 4)));
    if (!verifier) continue;
    if (!verify(null, Buffer.from(text, 'utf8'), verifier.key, raw.subarray(4))) {
      throw new NoteError(`signature by ${verifier.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) throw new NoteError('no known key signed the note');
  return text;
}
