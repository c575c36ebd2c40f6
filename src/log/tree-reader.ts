/**
 * Answers questions about a stored tree (roots, inclusion and consistency proofs, leaf hashes)
 * from its tiles, in O(log n) tile reads: a proof names its ranges (merkle.ts), the ranges name
 * complete subtrees, the subtrees name tiles, and all the tiles are fetched in one store call.
 *
 * Full tiles never change, so they are cached with the interior nodes computed from them; a
 * proof's deepest tile otherwise costs up to 255 hashes to climb. Partial tiles are read fresh.
 */
import { HASH_SIZE, nodeHash, EMPTY_ROOT } from './hashing.ts';
import { consistencyRanges, foldRange, inclusionRanges, rangeSubtrees, type Range, type Subtree } from './merkle.ts';
import { locateSubtree, TILE_WIDTH, tileWidthAt } from './tiles.ts';
import type { Store, TileRef } from '../store/store.ts';

/** How many full tiles the reader keeps; each costs up to 16 KiB with its interior nodes. */
export const DEFAULT_TILE_CACHE_SIZE = 2048;

/** A tile's hashes and, lazily, the perfect-subtree nodes above them inside the tile. */
class LoadedTile {
  /** inner[h][i]: the node of height h over hashes [i·2^h, (i+1)·2^h); inner[0] are the hashes. */
  private readonly inner: Buffer[][] = [];
  constructor(readonly hashes: Buffer) {}

  node(innerHeight: number, offset: number): Buffer {
    if (innerHeight === 0) return this.hash(offset);
    return this.innerNode(innerHeight, offset >> innerHeight);
  }

  private hash(i: number): Buffer {
    if ((i + 1) * HASH_SIZE > this.hashes.length) throw new Error(`tile holds no hash ${i}`);
    return this.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }

  private innerNode(height: number, index: number): Buffer {
    if (height === 0) return this.hash(index);
    const row = (this.inner[height] ??= []);
    return (row[index] ??= nodeHash(this.innerNode(height - 1, 2 * index), this.innerNode(height - 1, 2 * index + 1)));
  }
}

export class TreeReader {
  /** Full tiles by `${projectId}/${level}/${index}`; Map order gives least-recently-used first. */
  private readonly cache = new Map<string, LoadedTile>();

  constructor(
    private readonly store: Store,
    private readonly cacheSize = DEFAULT_TILE_CACHE_SIZE,
  ) {}

  /** MTH of the first `size` leaves. */
  async root(projectId: string, size: number): Promise<Buffer> {
    if (size === 0) return EMPTY_ROOT;
    const [root] = await this.rangeHashes(projectId, size, [{ lo: 0, hi: size }]);
    return root!;
  }

  /** The RFC 6962 inclusion proof of leaf `index` in the tree of `size`. */
  async inclusionProof(projectId: string, index: number, size: number): Promise<Buffer[]> {
    return this.rangeHashes(projectId, size, inclusionRanges(index, size));
  }

  /** The RFC 6962 consistency proof from size m to size n (an empty proof when m == n or m == 0). */
  async consistencyProof(projectId: string, m: number, n: number): Promise<Buffer[]> {
    if (m === n || m === 0) return [];
    return this.rangeHashes(projectId, n, consistencyRanges(m, n));
  }

  /** Leaf hashes of [start, end) as stored in level-0 tiles. */
  async leafHashes(projectId: string, start: number, end: number, size: number): Promise<Buffer[]> {
    const subtrees: Subtree[] = [];
    for (let i = start; i < end; i++) subtrees.push({ height: 0, index: i });
    const hashes = await this.subtreeHashes(projectId, size, subtrees);
    return subtrees.map((s) => hashes(s));
  }

  /** MTH of each range, within the tree of `size`. */
  async rangeHashes(projectId: string, size: number, ranges: readonly Range[]): Promise<Buffer[]> {
    const subtrees = ranges.flatMap((range) => rangeSubtrees(range.lo, range.hi));
    const hashOf = await this.subtreeHashes(projectId, size, subtrees);
    return ranges.map((range) => foldRange(range.lo, range.hi, hashOf));
  }

  /** Fetches every tile the subtrees need, then returns a lookup of their hashes. */
  private async subtreeHashes(projectId: string, size: number, subtrees: readonly Subtree[]): Promise<(s: Subtree) => Buffer> {
    const tiles = new Map<string, LoadedTile>();
    const missing: TileRef[] = [];
    for (const subtree of subtrees) {
      const { tile } = locateSubtree(subtree);
      const key = `${tile.level}/${tile.index}`;
      if (tiles.has(key) || missing.some((t) => t.level === tile.level && t.index === tile.index)) continue;
      const cached = this.cached(projectId, key);
      if (cached) tiles.set(key, cached);
      else missing.push(tile);
    }
    if (missing.length > 0) {
      const read = await this.store.readTiles(projectId, missing);
      missing.forEach((tile, i) => {
        const bytes = read[i];
        const width = tileWidthAt(tile.level, tile.index, size);
        if (!bytes || bytes.length < width * HASH_SIZE) {
          throw new Error(`couldn't read tile ${tile.level}/${tile.index} of project ${projectId}: stored tree is shorter than ${size}`);
        }
        const loaded = new LoadedTile(bytes);
        const key = `${tile.level}/${tile.index}`;
        tiles.set(key, loaded);
        if (bytes.length === TILE_WIDTH * HASH_SIZE) this.remember(projectId, key, loaded);
      });
    }
    return (subtree) => {
      const { tile, innerHeight, offset } = locateSubtree(subtree);
      return tiles.get(`${tile.level}/${tile.index}`)!.node(innerHeight, offset);
    };
  }

  private cached(projectId: string, key: string): LoadedTile | undefined {
    const full = `${projectId}/${key}`;
    const tile = this.cache.get(full);
    if (tile) {
      this.cache.delete(full);
      this.cache.set(full, tile);
    }
    return tile;
  }

  private remember(projectId: string, key: string, tile: LoadedTile): void {
    this.cache.set(`${projectId}/${key}`, tile);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }
}
