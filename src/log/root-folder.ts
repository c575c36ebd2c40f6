/**
 * The RFC 6962 root of a stream of leaf hashes, for a verifier that reads a whole log once
 * (`veritrail verify`). It keeps the roots of the perfect subtrees the leaves so far make up,
 * largest first, like the digits of a binary counter: each new leaf (or aligned perfect subtree,
 * hashed elsewhere) merges with the subtrees of its own size, and the root folds them from the
 * right. At most 64 hashes are kept.
 *
 * Hashes are 32-character latin1 strings, not Buffers (hashing.ts, nodeHashLatin1, says why): a
 * verifier makes one node hash per leaf. (TreeEdge, which also writes tiles, is the sequencer's.)
 */
import { EMPTY_ROOT, nodeHashLatin1 } from './hashing.ts';

/**
 * Entries per block that a verifier's worker threads fold themselves (export-hash-worker.ts):
 * a tile's width, so 255 of every 256 node hashes are made off the verifying thread.
 */
export const FOLD_BLOCK = 256;

export class RootFolder {
  /** Roots of perfect subtrees, largest first, with their sizes (powers of two, decreasing). */
  private readonly hashes: string[] = [];
  private readonly sizes: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends one leaf hash (a latin1 string of 32 characters). */
  add(leaf: string): void {
    this.addSubtree(leaf, 1);
  }

  /**
   * Appends the root of a perfect subtree of `size` leaves (a power of two). The tree's size must
   * be a multiple of `size`, as it is for a subtree at its place in the log.
   */
  addSubtree(root: string, size: number): void {
    if (this.count % size !== 0) throw new Error(`a subtree of ${size} leaves cannot start at ${this.count}`);
    let carry = root;
    let carrySize = size;
    // Subtrees on the stack as large as what carry has become merge with it, as binary carries do.
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === carrySize) {
      this.sizes.pop();
      carry = nodeHashLatin1(this.hashes.pop()!, carry);
      carrySize *= 2;
    }
    this.hashes.push(carry);
    this.sizes.push(carrySize);
    this.count += size;
  }

  /** MTH of the leaves added so far. */
  root(): Buffer {
    if (this.count === 0) return Buffer.from(EMPTY_ROOT);
    let root = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) root = nodeHashLatin1(this.hashes[i]!, root);
    return Buffer.from(root, 'latin1');
  }
}
