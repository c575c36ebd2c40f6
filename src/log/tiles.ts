/**
 * C2SP tlog-tiles coordinates (spec/tlog.md §5). Tile n at level l holds, for i in 0..255,
 * MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l]); level 0 holds the leaf hashes. A tile is
 * stored as the concatenation of its hashes, exactly the bytes served at `tile/<L>/<N>`.
 */
import type { Subtree } from './merkle.ts';

/** Hashes per full tile (tlog-tiles: tile height 8). */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;

/** A tile's place: its level and its index at that level. */
export interface TileCoord {
  level: number;
  index: number;
}

/** How many hashes tile (level, index) holds in a tree of `size` leaves (0 when it does not exist yet). */
export function tileWidthAt(level: number, index: number, size: number): number {
  const hashesAtLevel = Math.floor(size / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, hashesAtLevel - index * TILE_WIDTH));
}

/**
 * Where a complete subtree lives: the level whose hashes it is built from, the tile, and the run
 * of 2^innerHeight hashes in that tile it covers. innerHeight 0 is a stored hash; above that it
 * is an interior node inside the tile, computed from the run.
 */
export interface SubtreeLocation {
  tile: TileCoord;
  innerHeight: number;
  offset: number;
}

export function locateSubtree({ height, index }: Subtree): SubtreeLocation {
  const level = Math.floor(height / TILE_HEIGHT);
  const innerHeight = height % TILE_HEIGHT;
  const position = index * 2 ** innerHeight; // position of the first hash at that level
  return {
    tile: { level, index: Math.floor(position / TILE_WIDTH) },
    innerHeight,
    offset: position % TILE_WIDTH,
  };
}

/**
 * `<N>` in a tile path: the index in 3-digit groups, every group but the last prefixed `x`
 * (tlog-tiles "tile index encoding"): 1234067 -> x001/x234/067.
 */
export function encodeTileIndex(index: number): string {
  let digits = String(index);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) groups.push(digits.slice(i, i + 3));
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
}

/** The inverse of encodeTileIndex; undefined for anything not in canonical form. */
export function decodeTileIndex(encoded: string): number | undefined {
  const groups = encoded.split('/');
  let digits = '';
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    const last = i === groups.length - 1;
    const match = last ? /^\d{3}$/.exec(group) : /^x\d{3}$/.exec(group);
    if (!match) return undefined;
    digits += last ? group : group.slice(1);
  }
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) return undefined;
  // Canonical form only: no leading all-zero groups (x000/001 is not a name for 1).
  return encodeTileIndex(value) === encoded ? value : undefined;
}

/** A parsed `tile/...` path below a log prefix. */
export type TilePath =
  | { kind: 'hashes'; level: number; index: number; width: number | undefined }
  | { kind: 'entries'; index: number; width: number | undefined };

/**
 * Parses the part after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`. Returns undefined
 * for a path that is not in canonical form (tlog-tiles asks for exact encodings).
 */
export function parseTilePath(path: string): TilePath | undefined {
  let width: number | undefined;
  const partial = /^(.*)\.p\/([1-9]\d{0,2})$/.exec(path);
  if (partial) {
    width = Number(partial[2]);
    if (width >= TILE_WIDTH) return undefined;
    path = partial[1]!;
  }
  const slash = path.indexOf('/');
  if (slash < 0) return undefined;
  const head = path.slice(0, slash);
  const index = decodeTileIndex(path.slice(slash + 1));
  if (index === undefined) return undefined;
  if (head === 'entries') return { kind: 'entries', index, width };
  if (!/^(0|[1-9]\d?)$/.test(head) || Number(head) > 63) return undefined;
  return { kind: 'hashes', level: Number(head), index, width };
}

/** The path of a tile below a log prefix, e.g. `tile/0/x001/000.p/7`. */
export function tilePath(tile: TilePath): string {
  const head = tile.kind === 'entries' ? 'entries' : String(tile.level);
  const suffix = tile.width !== undefined && tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${head}/${encodeTileIndex(tile.index)}${suffix}`;
}
