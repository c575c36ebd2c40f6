/**
 * The whole-log check (`veritrail fsck`): for each log, recompute every leaf hash from the
 * stored envelope bytes (hashed where they are stored: store.ts hashEntries), rebuild every
 * tile from those leaves and compare it with the stored tile, rebuild the root at the last
 * checkpoint's size and compare it with the signed root, and verify that checkpoint's
 * signature. Reports the first bad index of each log.
 */
import { parseCheckpoint } from './checkpoint.ts';
import { openNote, type NoteVerifier } from './signed-note.ts';
import { firstTileMismatch } from './tile-check.ts';
import { TreeEdge } from './tree-edge.ts';
import type { Store } from '../store/store.ts';

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
