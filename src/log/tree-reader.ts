/**
 * Answers questions about a stored tree (roots, inclusion and consistency proofs, leaf hashes)
 * from its tiles, in O(log n) tile reads: a proof names its ranges (merkle.ts), the ranges name
 * complete subtrees, the subtrees name tiles, and all the tiles are fetched in one store call.
 *
 * Inside a full tile, a proof's nodes are folded from the tile's summary (tile-summary.ts): at
 * most 22 hashes, where climbing the tile's own hashes costs up to 247. Tiles without one
 * (partial, or written before summaries) are climbed, and keep the nodes they computed.
 *
 * Tiles are cached. A full tile never changes, and a partial one only grows: its first w hashes
 * stay as they are, so a tile read at width w answers any tree in which it is w wide or less.
 * Partial tiles are cached too, and replaced by a wider read when a larger tree needs it. They
 * matter as much as full ones: every proof in a tree of n climbs the partial tiles of n's right
 * edge, and most proofs are asked in the same few trees (the latest checkpoints), so those
 * climbs were repeated for every proof.
 */
import { HASH_SIZE, nodeHash, EMPTY_ROOT } from './hashing.ts';
import { consistencyRanges, foldRange, inclusionRanges, rangeSubtrees, type Range, type Subtree } from './merkle.ts';
import { LruMap } from '../core/lru-map.ts';
import { nodeFromSummary, SUMMARY_BYTES } from './tile-summary.ts';
import { locateSubtree, TILE_WIDTH, tileWidthAt } from './tiles.ts';
import type { Store, TileRef } from '../store/store.ts';

/** How many tiles the reader keeps; each costs up to 16 KiB with its interior nodes. */
export const DEFAULT_TILE_CACHE_SIZE = 2048;

/**
 * A tile's hashes, its summary if it has one, and, lazily, the perfect-subtree nodes inside the
 * tile that proofs asked for: folded from the summary where there is one, else climbed from the
 * hashes (keeping every node on the way).
 */
class LoadedTile {
  /** inner[h][i]: the node of height h over hashes [i·2^h, (i+1)·2^h); inner[0] are the hashes. */
  private readonly inner: Buffer[][] = [];
  /** The summary, if the tile is full and was stored with one of the right length. */
  private readonly summary: Buffer | undefined;

  constructor(
    readonly hashes: Buffer,
    summary: Buffer | undefined,
  ) {
    this.summary = hashes.length === TILE_WIDTH * HASH_SIZE && summary?.length === SUMMARY_BYTES ? summary : undefined;
  }

  /** How many hashes the tile held when it was read. */
  get width(): number {
    return Math.floor(this.hashes.length / HASH_SIZE);
  }

  node(innerHeight: number, offset: number): Buffer {
    if (innerHeight === 0) return this.hash(offset);
    if (!this.summary) return this.innerNode(innerHeight, offset >> innerHeight);
    // Kept like a climbed node: the tiles above level 0 serve nearly every proof.
    const row = (this.inner[innerHeight] ??= []);
    return (row[offset >> innerHeight] ??= nodeFromSummary(this.hashes, this.summary, innerHeight, offset));
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
  /** Tiles by `${projectId}/${level}/${index}`, each as wide as when it was last read. */
  private readonly cache: LruMap<string, LoadedTile>;

  constructor(
    private readonly store: Store,
    cacheSize = DEFAULT_TILE_CACHE_SIZE,
  ) {
    this.cache = new LruMap(cacheSize);
  }

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
    const missing = new Map<string, TileRef>();
    for (const subtree of subtrees) {
      const { tile } = locateSubtree(subtree);
      const key = `${tile.level}/${tile.index}`;
      if (tiles.has(key) || missing.has(key)) continue;
      const cached = this.cached(projectId, key, tileWidthAt(tile.level, tile.index, size));
      if (cached) tiles.set(key, cached);
      else missing.set(key, tile);
    }
    if (missing.size > 0) {
      const refs = [...missing.values()];
      const read = await this.store.readTilesWithSummaries(projectId, refs);
      refs.forEach((tile, i) => {
        const bytes = read[i]?.hashes;
        const width = tileWidthAt(tile.level, tile.index, size);
        if (!bytes || bytes.length < width * HASH_SIZE) {
          throw new Error(`couldn't read tile ${tile.level}/${tile.index} of project ${projectId}: stored tree is shorter than ${size}`);
        }
        const loaded = new LoadedTile(bytes, read[i]!.summary);
        const key = `${tile.level}/${tile.index}`;
        tiles.set(key, loaded);
        this.remember(projectId, key, loaded);
      });
    }
    return (subtree) => {
      const { tile, innerHeight, offset } = locateSubtree(subtree);
      return tiles.get(`${tile.level}/${tile.index}`)!.node(innerHeight, offset);
    };
  }

  /** The cached tile, if it is at least `width` hashes wide. */
  private cached(projectId: string, key: string, width: number): LoadedTile | undefined {
    const full = `${projectId}/${key}`;
    const tile = this.cache.get(full);
    if (!tile || tile.width < width) return undefined;
    this.cache.set(full, tile); // a use: it is now the most recent
    return tile;
  }

  /**
   * Keeps `tile` in place of the copy held, if any: a later read is at least as wide, but for
   * reads that overlapped (a narrower copy then costs a read again, never a wrong node).
   */
  private remember(projectId: string, key: string, tile: LoadedTile): void {
    this.cache.set(`${projectId}/${key}`, tile);
  }
}
