/**
 * Export streams: entries in index order, read in chunks so memory stays flat however large
 * the log, and pulled by the consumer (an async generator: nothing is read until the HTTP
 * response or the file asks for more).
 */
import type { CheckpointRecord, Store } from '../store/store.ts';
import type { TreeReader } from '../log/tree-reader.ts';
import { checkpointLine, exportLine } from '../log/export-format.ts';

/** Entries read per store call while exporting. */
export const EXPORT_CHUNK = 1000;

/**
 * The JSONL export of entries [0, checkpoint.treeSize) and the checkpoint that covers them.
 * leafHash is the stored level-0 tile hash, not one recomputed here, so a verifier that finds
 * an entry whose bytes disagree with it has found the entry that changed.
 */
export async function* exportJsonl(store: Store, reader: TreeReader, projectId: string, checkpoint: CheckpointRecord): AsyncGenerator<Buffer> {
  const size = checkpoint.treeSize;
  for (let start = 0; start < size; start += EXPORT_CHUNK) {
    const end = Math.min(size, start + EXPORT_CHUNK);
    const [entries, leaves] = await Promise.all([store.readEntries(projectId, start, end), reader.leafHashes(projectId, start, end, size)]);
    yield Buffer.concat(entries.map((entry) => exportLine(entry.index, leaves[entry.index - start]!, entry.envelope)));
  }
  yield checkpointLine(checkpoint.note);
}
