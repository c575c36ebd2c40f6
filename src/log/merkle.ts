/**
 * RFC 6962 §2.1 tree shape, proofs and their verification, independent of where hashes live.
 *
 * A proof is first described as a list of leaf ranges [lo, hi) whose MTH it needs (RFC 6962
 * §2.1.1 PATH and §2.1.2 SUBPROOF, restated in spec/tlog.md §2.2 and §2.4). Each range is then
 * written as O(log n) complete subtrees, the only hashes a store keeps (tlog-tiles). Splitting
 * "which hashes" from "fetch them" lets a store answer one proof in one round trip.
 */
import { nodeHash } from './hashing.ts';

/** A leaf range [lo, hi). */
export interface Range {
  lo: number;
  hi: number;
}

/** A complete subtree: the 2^height leaves starting at index * 2^height. */
export interface Subtree {
  height: number;
  index: number;
}

/** k(n): the largest power of two strictly less than n, for n >= 2 (RFC 6962 §2.1). */
export function splitPoint(n: number): number {
  if (n < 2) throw new RangeError(`split point of ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The ranges whose hashes form the inclusion proof of leaf m in a tree of size n, bottom up. */
export function inclusionRanges(m: number, n: number): Range[] {
  if (!(m >= 0 && m < n)) throw new RangeError(`index ${m} outside tree of size ${n}`);
  const out: Range[] = [];
  let lo = 0;
  let hi = n;
  // Walk down from the root; each step records the half that does not hold m.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < lo + k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo = lo + k;
    }
  }
  return out.reverse();
}

/** The ranges whose hashes form the consistency proof from size m to size n (0 < m < n). */
export function consistencyRanges(m: number, n: number): Range[] {
  if (!(m > 0 && m < n)) throw new RangeError(`consistency ${m} -> ${n}`);
  const out: Range[] = [];
  let lo = 0;
  let hi = n;
  let wholeOldTree = true;
  let remaining = m;
  // RFC 6962 §2.1.2 SUBPROOF, iteratively: descend until the old tree's edge is a whole subtree.
  while (remaining !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (remaining <= k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo = lo + k;
      remaining -= k;
      wholeOldTree = false;
    }
  }
  if (!wholeOldTree) out.push({ lo, hi });
  return out.reverse();
}

/**
 * The complete subtrees that make up MTH(lo, hi), left to right. For the ranges proofs use,
 * only the range on the right border is ragged, so there are O(log n) of them.
 */
export function rangeSubtrees(lo: number, hi: number): Subtree[] {
  const out: Subtree[] = [];
  collect(lo, hi, out);
  return out;
}

function collect(lo: number, hi: number, out: Subtree[]): void {
  const size = hi - lo;
  if (size <= 0) throw new RangeError(`empty range [${lo}, ${hi})`);
  if ((size & (size - 1)) === 0 && lo % size === 0) {
    out.push({ height: Math.log2(size), index: lo / size });
    return;
  }
  const k = splitPoint(size);
  collect(lo, lo + k, out);
  collect(lo + k, hi, out);
}

/** Folds the subtree hashes of one range (as listed by rangeSubtrees) into MTH(lo, hi). */
export function foldRange(lo: number, hi: number, hashOf: (subtree: Subtree) => Buffer): Buffer {
  const size = hi - lo;
  if ((size & (size - 1)) === 0 && lo % size === 0) return hashOf({ height: Math.log2(size), index: lo / size });
  const k = splitPoint(size);
  return nodeHash(foldRange(lo, lo + k, hashOf), foldRange(lo + k, hi, hashOf));
}

/** a XOR b for integers up to 2^53 (the `^` operator truncates to 32 bits). */
function xor(a: number, b: number): number {
  const high = (Math.floor(a / 2 ** 32) ^ Math.floor(b / 2 ** 32)) >>> 0;
  const low = ((a >>> 0) ^ (b >>> 0)) >>> 0;
  return high * 2 ** 32 + low;
}

/** The number of bits needed to write x; counted, because Math.log2 rounds near 2^53. */
function bitLength(x: number): number {
  let bits = 0;
  while (x >= 1) {
    x = Math.floor(x / 2);
    bits++;
  }
  return bits;
}

function popcount(x: number): number {
  let count = 0;
  while (x > 0) {
    count += x % 2;
    x = Math.floor(x / 2);
  }
  return count;
}

function trailingZeros(x: number): number {
  let count = 0;
  while (x > 0 && x % 2 === 0) {
    count++;
    x /= 2;
  }
  return count;
}

/** Bit i of x, for x up to 2^53. */
function bit(x: number, i: number): number {
  return Math.floor(x / 2 ** i) % 2;
}

/** The root an inclusion proof implies, or undefined for a proof of the wrong length (spec/tlog.md §2.3). */
export function rootFromInclusionProof(index: number, size: number, leaf: Buffer, proof: readonly Buffer[]): Buffer | undefined {
  if (!(index >= 0 && index < size)) return undefined;
  const inner = bitLength(xor(index, size - 1));
  const border = popcount(Math.floor(index / 2 ** inner));
  if (proof.length !== inner + border) return undefined;
  let h = leaf;
  for (let i = 0; i < inner; i++) h = bit(index, i) === 0 ? nodeHash(h, proof[i]!) : nodeHash(proof[i]!, h);
  for (let i = inner; i < proof.length; i++) h = nodeHash(proof[i]!, h);
  return h;
}

/** True when `proof` shows leaf `index` with hash `leaf` is in the tree of `size` with `root`. */
export function verifyInclusion(index: number, size: number, leaf: Buffer, proof: readonly Buffer[], root: Buffer): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== undefined && computed.equals(root);
}

/** True when `proof` shows the tree (m, oldRoot) is a prefix of (n, newRoot) (spec/tlog.md §2.4). */
export function verifyConsistency(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: readonly Buffer[]): boolean {
  if (m > n || m < 0) return false;
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (m === 0) return proof.length === 0;
  const a = m - 1;
  let inner = bitLength(xor(a, n - 1));
  const border = popcount(Math.floor(a / 2 ** inner));
  const s = trailingZeros(m);
  inner -= s;
  let start: Buffer;
  let rest: readonly Buffer[];
  if (m === 2 ** s) {
    start = oldRoot;
    rest = proof;
  } else {
    if (proof.length < 1) return false;
    start = proof[0]!;
    rest = proof.slice(1);
  }
  if (rest.length !== inner + border) return false;
  const mask = Math.floor(a / 2 ** s);
  let oldHash = start;
  let newHash = start;
  for (let i = 0; i < inner; i++) {
    if (bit(mask, i) === 1) {
      oldHash = nodeHash(rest[i]!, oldHash);
      newHash = nodeHash(rest[i]!, newHash);
    } else {
      newHash = nodeHash(newHash, rest[i]!);
    }
  }
  for (let i = inner; i < rest.length; i++) {
    oldHash = nodeHash(rest[i]!, oldHash);
    newHash = nodeHash(rest[i]!, newHash);
  }
  return oldHash.equals(oldRoot) && newHash.equals(newRoot);
}
