/**
 * A full tile's summary: the roots of its 16 runs of 16 hashes (the tile's interior nodes of
 * height 4), 512 bytes stored beside the tile (store.ts TileWrite.summary).
 *
 * Why: a proof's deepest tile is climbed for the nodes beside its path, heights 1 to 7 inside
 * the tile, and from the 256 hashes alone those cost 247 hashes. In a large log most proofs land
 * on a level-0 tile no cache holds (at 10M leaves there are 39,000 of them), and that climb was
 * most of a proof's time. From the summary the same nodes cost 22: at most 11 inside one run,
 * and at most 11 over the summary's 16 roots. The sequencer computes these roots anyway when a
 * tile fills (they are half-way to the root it carries up a level), so storing them costs
 * 512 bytes a tile (6%) and no hashing.
 *
 * Partial tiles have none: they still grow, and proofs cache them (tree-reader.ts). Neither do
 * tiles written before the summary existed; proofs climb those from their hashes, as before.
 * The summary is not served (tlog-tiles has no place for it): it is this server's index into its
 * own tiles, checked by fsck like the tiles themselves.
 */
import { HASH_SIZE, perfectRoot } from './hashing.ts';
import { TILE_WIDTH } from './tiles.ts';

/** The height of the summary's nodes inside the tile. */
export const SUMMARY_HEIGHT = 4;
/** Tile hashes under each summary node. */
export const SUMMARY_RUN = 2 ** SUMMARY_HEIGHT;
/** A summary's length: one hash per run. */
export const SUMMARY_BYTES = (TILE_WIDTH / SUMMARY_RUN) * HASH_SIZE;

/** The summary of a full tile's 256 hashes, and the tile's root (folded from the summary: 255 hashes in all). */
export function summariseTile(hashes: readonly Buffer[]): { summary: Buffer; root: Buffer } {
  if (hashes.length !== TILE_WIDTH) throw new Error(`only a full tile has a summary, not one of ${hashes.length} hashes`);
  const roots: Buffer[] = [];
  for (let start = 0; start < TILE_WIDTH; start += SUMMARY_RUN) roots.push(perfectRoot(hashes.slice(start, start + SUMMARY_RUN)));
  return { summary: Buffer.concat(roots), root: perfectRoot(roots) };
}

/**
 * The interior node of height `innerHeight` (1 to 7) over the run of a full tile's hashes that
 * starts at `offset`: folded from the tile's hashes below the summary's height, from the
 * summary at or above it.
 */
export function nodeFromSummary(tile: Buffer, summary: Buffer, innerHeight: number, offset: number): Buffer {
  const [bytes, first, count] = innerHeight < SUMMARY_HEIGHT ? [tile, offset, 2 ** innerHeight] : [summary, offset / SUMMARY_RUN, 2 ** (innerHeight - SUMMARY_HEIGHT)];
  const run: Buffer[] = [];
  for (let i = first; i < first + count; i++) run.push(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return perfectRoot(run);
}
