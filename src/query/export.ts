/**
 * Export streams (spec/api.md "Reading events"): JSONL that `veritrail verify` checks offline,
 * or CSV for people and spreadsheets, of the whole log or of a time range. Entries are read in
 * chunks and pulled by the consumer (async generators: nothing is read until the HTTP response
 * or the file asks for more), so memory stays flat however large the log (test/cli/export.test.ts
 * holds a 1M-event export to a stated bound).
 *
 * Every export covers the log up to one signed checkpoint, taken by the caller, so that what it
 * holds is fixed even while events keep arriving.
 *
 * A time range [from, to) is on the same time as search (the event's own, else receivedAt). The
 * search index says which part of the log can hold the range (its least and greatest index,
 * `searchIndexRange`), and only that part is read, plus whatever the index has not reached yet;
 * each entry read is then checked against the range itself, so the result never depends on the
 * index being complete. Lines stay in index order.
 */
import { eventFields } from '../core/event-fields.ts';
import { eventTextOf, parseEnvelope } from '../core/envelope.ts';
import type { CheckpointRecord, Store, StoredEntry } from '../store/store.ts';
import type { TreeReader } from '../log/tree-reader.ts';
import { checkpointLine, exportLine } from '../log/export-format.ts';
import { HASH_SIZE } from '../log/hashing.ts';
import { TILE_WIDTH } from '../log/tiles.ts';
import { csvRecord } from './csv.ts';
import { searchTime } from './search-document.ts';

/** Entries read per store call while exporting. */
export const EXPORT_CHUNK = 1000;

/** The CSV columns (the list), in order. */
export const CSV_COLUMNS = ['index', 'eventId', 'receivedAt', 'eventTime', 'eventName', 'eventSource', 'actor', 'sourceIp', 'outcome', 'event'] as const;

export interface TimeRange {
  fromTime?: number;
  toTime?: number;
}

function hasRange(range: TimeRange): boolean {
  return range.fromTime !== undefined || range.toTime !== undefined;
}

/** The parts of [0, size) that may hold entries of the range, as half-open index intervals. */
async function rangeSpans(store: Store, projectId: string, size: number, range: TimeRange): Promise<Array<[number, number]>> {
  if (!hasRange(range)) return [[0, size]];
  const { searchIndexSize, first, last } = await store.searchIndexRange(projectId, range.fromTime, range.toTime);
  const indexed = Math.min(searchIndexSize, size);
  const spans: Array<[number, number]> = [];
  if (first !== undefined && last !== undefined && first < indexed) spans.push([first, Math.min(last + 1, indexed)]);
  if (indexed < size) spans.push([indexed, size]);
  return spans;
}

/** One entry with what the range check and CSV need, parsed once. */
interface ReadEntry extends StoredEntry {
  time: number;
  fields: ReturnType<typeof eventFields>;
  receivedAt: string;
  eventId: string;
}

/**
 * The entries [0, size) in index order, in chunks; with a range, only those inside it. Without a
 * range nothing is parsed (`parse` false): the fast path of a whole-log JSONL export.
 */
async function* entryChunks(store: Store, projectId: string, size: number, range: TimeRange, parse: boolean): AsyncGenerator<Array<StoredEntry | ReadEntry>> {
  const filtering = hasRange(range);
  for (const [lo, hi] of await rangeSpans(store, projectId, size, range)) {
    for (let start = lo; start < hi; start += EXPORT_CHUNK) {
      const entries = await store.readEntries(projectId, start, Math.min(hi, start + EXPORT_CHUNK));
      if (!parse && !filtering) {
        yield entries;
        continue;
      }
      const chunk: ReadEntry[] = [];
      for (const entry of entries) {
        const envelope = parseEnvelope(entry.envelope);
        const fields = eventFields(envelope.event);
        const time = searchTime(fields, envelope.receivedAt);
        if (range.fromTime !== undefined && time < range.fromTime) continue;
        if (range.toTime !== undefined && time >= range.toTime) continue;
        chunk.push({ ...entry, time, fields, receivedAt: envelope.receivedAt, eventId: envelope.eventId });
      }
      if (chunk.length > 0) yield chunk;
    }
  }
}

/**
 * JSONL of the entries up to `checkpoint`, then the checkpoint line. Whole-log lines carry the
 * stored level-0 tile hash as leafHash (not one recomputed here), so a verifier that finds an
 * entry whose bytes disagree with it has found the entry that changed. Range lines also carry
 * their inclusion proof against the checkpoint (log/export-format.ts).
 */
export async function* exportJsonl(store: Store, reader: TreeReader, projectId: string, checkpoint: CheckpointRecord, range: TimeRange = {}): AsyncGenerator<Buffer> {
  const size = checkpoint.treeSize;
  const proving = hasRange(range);
  for await (const entries of entryChunks(store, projectId, size, range, false)) {
    if (!proving) {
      const start = entries[0]!.index;
      const leaves = await storedLeafHashes(store, projectId, start, entries[entries.length - 1]!.index + 1);
      yield Buffer.concat(entries.map((entry) => exportLine(entry.index, leaves[entry.index - start]!, entry.envelope)));
      continue;
    }
    const lines: Buffer[] = [];
    for (const entry of entries) {
      const [leaf] = await reader.leafHashes(projectId, entry.index, entry.index + 1, size);
      lines.push(exportLine(entry.index, leaf!, entry.envelope, await reader.inclusionProof(projectId, entry.index, size)));
    }
    yield Buffer.concat(lines);
  }
  yield checkpointLine(checkpoint.note);
}

/**
 * The stored leaf hashes of entries [start, end), straight from their level-0 tiles. Not through
 * the TreeReader: a whole-log export reads every tile once, and passing them through the reader's
 * cache would only evict the tiles proofs keep needing (and grow this process's memory for
 * nothing).
 */
async function storedLeafHashes(store: Store, projectId: string, start: number, end: number): Promise<Buffer[]> {
  const first = Math.floor(start / TILE_WIDTH);
  const refs = Array.from({ length: Math.floor((end - 1) / TILE_WIDTH) - first + 1 }, (_, i) => ({ level: 0, index: first + i }));
  const tiles = await store.readTiles(projectId, refs);
  return Array.from({ length: end - start }, (_, i) => {
    const index = start + i;
    const tile = tiles[Math.floor(index / TILE_WIDTH) - first];
    const offset = (index % TILE_WIDTH) * HASH_SIZE;
    if (!tile || tile.length < offset + HASH_SIZE) throw new Error(`couldn't read the leaf hash of entry ${index}: its tile is missing; run veritrail fsck`);
    return tile.subarray(offset, offset + HASH_SIZE);
  });
}

/** CSV (RFC 4180) of the entries below `size`: a header record, then one record per entry. */
export async function* exportCsv(store: Store, projectId: string, size: number, range: TimeRange = {}): AsyncGenerator<Buffer> {
  yield Buffer.from(csvRecord(CSV_COLUMNS));
  for await (const entries of entryChunks(store, projectId, size, range, true)) {
    yield Buffer.from(
      (entries as ReadEntry[])
        .map((entry) => {
          const { fields } = entry;
          return csvRecord([
            String(entry.index),
            entry.eventId,
            entry.receivedAt,
            fields.eventTime !== undefined ? new Date(fields.eventTime).toISOString() : '',
            fields.eventName ?? '',
            fields.eventSource ?? '',
            fields.actors[0] ?? '',
            fields.sourceIp ?? '',
            fields.outcome ?? '',
            eventTextOf(entry.envelope),
          ]);
        })
        .join(''),
    );
  }
}
