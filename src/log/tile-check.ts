/**
 * Rebuilt tiles against stored ones: the one check of a stored tree against its entries, used
 * by fsck over a whole log and by the checkpointer over each chunk it verifies before signing.
 * A stored tile may be wider than the rebuilt one (the log grew since): only the rebuilt
 * hashes are compared, since a tile's first hashes never change.
 */
import { HASH_SIZE } from './hashing.ts';
import { SUMMARY_RUN } from './tile-summary.ts';
import type { Store, TileWrite } from '../store/store.ts';

/**
 * Compares rebuilt tiles (and full tiles' summaries) with the stored ones; returns the first
 * leaf under the first differing hash of the lowest level that differs. A changed entry changes
 * its level-0 hash and every hash above it, so the lowest level names the entry itself; a
 * difference only higher up, or only in a summary, means a stored tile was changed, and names
 * the first leaf under the changed hash. A full tile stored without a summary (written before
 * summaries existed) is fine: proofs climb its hashes instead.
 */
export async function firstTileMismatch(store: Store, projectId: string, tiles: readonly TileWrite[]): Promise<{ leaf: number; problem: string } | undefined> {
  const stored = await store.readTilesWithSummaries(projectId, tiles);
  let best: { level: number; leaf: number; problem: string } | undefined;
  tiles.forEach((tile, i) => {
    const have = stored[i];
    const hash = firstDifference(tile.hashes, have?.hashes, 1);
    // A changed hash changes the summary above it too: the summary counts only when the hashes agree.
    const summary = hash === undefined && tile.summary && have?.summary ? firstDifference(tile.summary, have.summary, SUMMARY_RUN) : undefined;
    const first = hash ?? summary;
    if (first === undefined) return;
    const leaf = (tile.index * 256 + first) * 256 ** tile.level;
    const problem =
      hash !== undefined
        ? `entry ${leaf} does not match the stored leaf hash or tile above it`
        : `the stored summary of tile ${tile.level}/${tile.index} is wrong from entry ${leaf} on: the entries and the tile's hashes are intact, but proofs through it do not verify (with the summary set to NULL, proofs climb the tile's hashes instead)`;
    if (!best || tile.level < best.level || (tile.level === best.level && leaf < best.leaf)) best = { level: tile.level, leaf, problem };
  });
  return best && { leaf: best.leaf, problem: best.problem };
}

/**
 * The first hash of `want` that `have` lacks or holds differently, as the index of the first
 * tile hash under it (each of `want`'s hashes stands for `span` of the tile's); undefined when
 * none differs.
 */
function firstDifference(want: Buffer, have: Buffer | undefined, span: number): number | undefined {
  // Nearly always the stored bytes start with the rebuilt ones: one comparison says so.
  if (have && have.length >= want.length && have.subarray(0, want.length).equals(want)) return undefined;
  for (let h = 0; h < want.length / HASH_SIZE; h++) {
    const wanted = want.subarray(h * HASH_SIZE, (h + 1) * HASH_SIZE);
    if (!have || have.length < (h + 1) * HASH_SIZE || !have.subarray(h * HASH_SIZE, (h + 1) * HASH_SIZE).equals(wanted)) return h * span;
  }
  return undefined;
}
