/**
 * The right edge of one log's tree: at each tile level, the hashes of the tile that is not yet
 * full. That is all a sequencer needs to append (everything left of it never changes), and it
 * holds at most 255 hashes per level, so a log's edge costs a few KiB of memory.
 */
import { HASH_SIZE, nodeHash, perfectRoot, EMPTY_ROOT } from './hashing.ts';
import { summariseTile } from './tile-summary.ts';
import { TILE_WIDTH, tileWidthAt } from './tiles.ts';
import type { TileRef, TileWrite } from '../store/store.ts';

export class TreeEdge {
  private constructor(
    /** Leaves in the tree. */
    readonly size: number,
    /** levels[L]: the hashes of the partial tile at level L, fewer than 256. */
    private readonly levels: readonly (readonly Buffer[])[],
  ) {}

  static empty(): TreeEdge {
    return new TreeEdge(0, []);
  }

  /** The tiles `load` needs for a tree of `size`. */
  static tilesFor(size: number): TileRef[] {
    const refs: TileRef[] = [];
    for (let level = 0; TILE_WIDTH ** level <= size; level++) {
      const index = Math.floor(size / TILE_WIDTH ** (level + 1));
      if (tileWidthAt(level, index, size) > 0) refs.push({ level, index });
    }
    return refs;
  }

  /**
   * Rebuilds the edge of a tree of `size` from its stored tiles (as listed by tilesFor). Throws
   * when a tile is missing or too short: the store does not hold the tree it claims.
   */
  static fromTiles(size: number, tiles: ReadonlyArray<Buffer | undefined>): TreeEdge {
    const levels: Buffer[][] = [];
    let next = 0;
    for (let level = 0; TILE_WIDTH ** level <= size; level++) {
      const index = Math.floor(size / TILE_WIDTH ** (level + 1));
      const width = tileWidthAt(level, index, size);
      const hashes: Buffer[] = [];
      if (width > 0) {
        const tile = tiles[next++];
        if (!tile || tile.length < width * HASH_SIZE) {
          throw new Error(`tile ${level}/${index} is missing or shorter than ${width} hashes for tree size ${size}`);
        }
        for (let i = 0; i < width; i++) hashes.push(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      }
      levels.push(hashes);
    }
    return new TreeEdge(size, levels);
  }

  /**
   * The edge after appending `leafHashes`, and every tile that changed: tiles that became full
   * and the partial tile of each level that moved. This edge is left as it was, so a failed
   * commit needs no undo.
   */
  extend(leafHashes: readonly Buffer[]): { edge: TreeEdge; tiles: TileWrite[] } {
    const levels = this.levels.map((hashes) => hashes.slice());
    const tiles: TileWrite[] = [];
    const dirty = new Set<number>();
    let size = this.size;
    for (const leaf of leafHashes) {
      size++;
      let carry: Buffer | undefined = leaf;
      for (let level = 0; carry !== undefined; level++) {
        const hashes = (levels[level] ??= []);
        hashes.push(carry);
        dirty.add(level);
        carry = undefined;
        if (hashes.length === TILE_WIDTH) {
          // The tile is full: write it whole with its summary, and its root becomes one hash of
          // the level above.
          const index = size / TILE_WIDTH ** (level + 1) - 1;
          const { summary, root } = summariseTile(hashes);
          tiles.push({ level, index, hashes: Buffer.concat(hashes), summary });
          carry = root;
          hashes.length = 0;
        }
      }
    }
    for (const level of dirty) {
      const hashes = levels[level]!;
      if (hashes.length > 0) tiles.push({ level, index: Math.floor(size / TILE_WIDTH ** (level + 1)), hashes: Buffer.concat(hashes) });
    }
    return { edge: new TreeEdge(size, levels), tiles };
  }

  /** MTH of the whole tree: the edge's perfect subtrees folded from the right (RFC 6962 §2.1). */
  root(): Buffer {
    if (this.size === 0) return EMPTY_ROOT;
    const subtrees: Buffer[] = [];
    // Leftmost (largest) subtrees live at the highest level.
    for (let level = this.levels.length - 1; level >= 0; level--) {
      const hashes = this.levels[level]!;
      let start = 0;
      for (let run = TILE_WIDTH / 2; run >= 1; run /= 2) {
        if (hashes.length & run) {
          subtrees.push(perfectRoot(hashes.slice(start, start + run)));
          start += run;
        }
      }
    }
    let root = subtrees[subtrees.length - 1]!;
    for (let i = subtrees.length - 2; i >= 0; i--) root = nodeHash(subtrees[i]!, root);
    return root;
  }
}
