/**
 * A naive in-memory RFC 6962 tree, written straight from the RFC's recursive definitions
 * (MTH, PATH, SUBPROOF) with nothing shared with src/log except SHA-256 itself: the oracle the
 * tile-based proofs are checked against.
 */
import { createHash } from 'node:crypto';

const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export class ReferenceTree {
  readonly leaves: Buffer[] = [];
  private readonly memo = new Map<string, Buffer>();

  push(entry: Buffer): void {
    this.leaves.push(sha256(Buffer.from([0]), entry));
  }

  pushLeafHash(hash: Buffer): void {
    this.leaves.push(hash);
  }

  /** MTH(D[lo:hi]) */
  mth(lo: number, hi: number): Buffer {
    if (hi - lo === 0) return sha256();
    if (hi - lo === 1) return this.leaves[lo]!;
    const key = `${lo}:${hi}`;
    let value = this.memo.get(key);
    if (!value) {
      let k = 1;
      while (k << 1 < hi - lo) k <<= 1;
      value = sha256(Buffer.from([1]), this.mth(lo, lo + k), this.mth(lo + k, hi));
      // Only aligned complete subtrees and short ranges are worth keeping.
      if (this.memo.size < 2_000_000) this.memo.set(key, value);
    }
    return value;
  }

  /** PATH(m, D[lo:hi]) of RFC 6962 §2.1.1. */
  path(m: number, lo: number, hi: number): Buffer[] {
    if (hi - lo <= 1) return [];
    let k = 1;
    while (k << 1 < hi - lo) k <<= 1;
    if (m < k) return [...this.path(m, lo, lo + k), this.mth(lo + k, hi)];
    return [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }

  /** PROOF(m, D[0:n]) of RFC 6962 §2.1.2. */
  consistency(m: number, n: number): Buffer[] {
    return this.subproof(m, 0, n, true);
  }

  private subproof(m: number, lo: number, hi: number, b: boolean): Buffer[] {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    let k = 1;
    while (k << 1 < n) k <<= 1;
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
}
