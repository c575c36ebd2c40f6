/**
 * The whole-log check (`veritrail fsck`): for each log, recompute every leaf hash from the
 * stored envelope bytes (hashed where they are stored: store.ts hashEntries), rebuild every
 * tile from those leaves and compare it with the stored tile, rebuild the root at the last
 * checkpoint's size and compare it with the signed root, and verify that checkpoint's
 * signature. Reports the first bad index of each log.
 */
import { HASH_SIZE } from './hashing.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { openNote, type NoteVerifier } from './signed-note.ts';
import { SUMMARY_RUN } from './tile-summary.ts';
import { TreeEdge } from './tree-edge.ts';
import type { Store, TileWrite } from '../store/store.ts';

export interface LogCheck {
  projectId: string;
  treeSize: number;
  checkpointSize: number | undefined;
  ok: boolean;
  firstBadIndex?: number;
  problem?: string;
}

/** Entries read per store call. */
const CHUNK = 4096;

export async function fsckLog(store: Store, projectId: string, verifier: NoteVerifier, onProgress?: (done: number, size: number) => void): Promise<LogCheck> {
  const treeSize = await store.treeSize(projectId);
  const checkpoint = await store.latestCheckpoint(projectId);
  const result = { projectId, treeSize, checkpointSize: checkpoint?.treeSize };
  const fail = (problem: string, firstBadIndex?: number): LogCheck => ({ ...result, ok: false, problem, ...(firstBadIndex !== undefined ? { firstBadIndex } : {}) });

  let signedRoot: Buffer | undefined;
  if (checkpoint) {
    try {
      const body = parseCheckpoint(openNote(checkpoint.note, [verifier]));
      if (body.size !== checkpoint.treeSize || !body.root.equals(checkpoint.rootHash)) return fail('the checkpoint row disagrees with its signed note');
      signedRoot = body.root;
    } catch (error) {
      return fail(`the latest checkpoint does not verify: ${(error as Error).message}`);
    }
    if (checkpoint.treeSize > treeSize) return fail(`the log holds ${treeSize} entries, fewer than its checkpoint's ${checkpoint.treeSize}`, treeSize);
  }

  let edge = TreeEdge.empty();
  for (let start = 0; start < treeSize; start += CHUNK) {
    const end = Math.min(treeSize, start + CHUNK);
    const entries = await store.hashEntries(projectId, start, end);
    const hashes: Buffer[] = [];
    for (let i = 0; i < end - start; i++) {
      const entry = entries[i];
      if (!entry || entry.index !== start + i) return fail(`entry ${start + i} is missing`, start + i);
      if (!entry.leafHash) return fail(`entry ${start + i} has no payload`, start + i);
      hashes.push(entry.leafHash);
    }
    // Fold in pieces that stop at the checkpoint size, so its root can be compared exactly.
    const cut = checkpoint && checkpoint.treeSize > start && checkpoint.treeSize < end ? checkpoint.treeSize - start : hashes.length;
    for (const piece of cut < hashes.length ? [hashes.slice(0, cut), hashes.slice(cut)] : [hashes]) {
      const extended = edge.extend(piece);
      const bad = await firstTileMismatch(store, projectId, extended.tiles);
      if (bad) return fail(bad.problem, bad.leaf);
      edge = extended.edge;
      if (checkpoint && edge.size === checkpoint.treeSize && !edge.root().equals(signedRoot!)) {
        return fail(`the entries up to ${checkpoint.treeSize} do not hash to the signed root`);
      }
    }
    onProgress?.(end, treeSize);
  }
  if (checkpoint && checkpoint.treeSize === 0 && treeSize === 0 && !edge.root().equals(signedRoot!)) return fail('the empty checkpoint has the wrong root');
  return { ...result, ok: true };
}

/**
 * Compares rebuilt tiles (and full tiles' summaries) with the stored ones; returns the first
 * leaf under the first differing hash of the lowest level that differs. A changed entry changes
 * its level-0 hash and every hash above it, so the lowest level names the entry itself; a
 * difference only higher up, or only in a summary, means a stored tile was changed, and names
 * the first leaf under the changed hash. A full tile stored without a summary (written before
 * summaries existed) is fine: proofs climb its hashes instead.
 */
async function firstTileMismatch(store: Store, projectId: string, tiles: readonly TileWrite[]): Promise<{ leaf: number; problem: string } | undefined> {
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
  for (let h = 0; h < want.length / HASH_SIZE; h++) {
    const wanted = want.subarray(h * HASH_SIZE, (h + 1) * HASH_SIZE);
    if (!have || have.length < (h + 1) * HASH_SIZE || !have.subarray(h * HASH_SIZE, (h + 1) * HASH_SIZE).equals(wanted)) return h * span;
  }
  return undefined;
}
