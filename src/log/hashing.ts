/**
 * RFC 6962 §2.1 hashing (RFC 9162 §2.1.1): H = SHA-256, leaves and interior nodes in separate
 * domains by a one-byte prefix. Never duplicate or pad leaves: the tree is ragged on the right.
 */
import { hash } from 'node:crypto';

export const HASH_SIZE = 32;

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

/**
 * SHA-256 as a Buffer. On Node.js 20, `crypto.hash` with 'buffer' output costs about 1.0 us even
 * for 65 bytes, against 0.4 us for a string; digesting to a latin1 ('binary') string and copying
 * it into a Buffer costs 0.65 us. The sequencer and the checkpointer make two or three of these
 * per event, on the thread that commits.
 */
function sha256(input: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', input, 'binary'), 'binary');
}

/** HL(d) = SHA-256(0x00 || d). */
export function leafHash(entry: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(entry.length + 1);
  input[0] = 0x00;
  input.set(entry, 1);
  return sha256(input);
}

// One scratch buffer for node inputs, 0x01 || l || r, rewritten for each node by nodeHash and
// nodeHashLatin1 alike: hashing is synchronous, so no two calls interleave.
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** HN(l, r) = SHA-256(0x01 || l || r). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return sha256(nodeInput);
}

/** The root of a perfect subtree given its 2^k leaves (or lower-level hashes) in order. */
export function perfectRoot(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.from(foldPerfect(hashes, nodeHash));
}

/** The root of 2^k hashes, pairing neighbours level by level with `node`. */
function foldPerfect<H>(hashes: readonly H[], node: (left: H, right: H) => H): H {
  if (hashes.length === 0) throw new Error('a perfect subtree has at least one hash');
  let level = hashes;
  while (level.length > 1) {
    const next: H[] = new Array(level.length >> 1);
    for (let i = 0; i < next.length; i++) next[i] = node(level[2 * i]!, level[2 * i + 1]!);
    level = next;
  }
  return level[0]!;
}

/**
 * HN(l, r) with the hashes as 32-character latin1 strings ('binary', to node:crypto), for a
 * verifier that folds a whole log (root-folder.ts, export-hash-worker.ts): on Node.js 20,
 * `crypto.hash` returning a Buffer costs about twice what it costs returning a string.
 */
export function nodeHashLatin1(left: string, right: string): string {
  nodeInput.write(left, 1, 'latin1');
  nodeInput.write(right, 1 + HASH_SIZE, 'latin1');
  return hash('sha256', nodeInput, 'binary');
}

/** perfectRoot of latin1 strings (nodeHashLatin1). */
export function perfectRootLatin1(hashes: readonly string[]): string {
  return foldPerfect(hashes, nodeHashLatin1);
}
