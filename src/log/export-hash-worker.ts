/**
 * A worker thread of `veritrail verify` (export-verifier.ts, verifyExportFile). Given a byte
 * range of an export file, it reads the lines that begin in that range (reading on past its end
 * to finish the last one), reads each whole-log line on the fast path (readPlainEntryLine,
 * which hashes the line's envelope where it lies), and sends back, per line, its index and leaf
 * hash, or the line itself when the verifying thread must read it (a checkpoint line, a fault,
 * another shape). So the verifying thread reads no file bytes: it only folds leaf hashes.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { readPlainEntryLine } from './export-verifier.ts';
import { perfectRootLatin1 } from './hashing.ts';
import { FOLD_BLOCK as BLOCK } from './root-folder.ts';

export interface HashRange {
  file: string;
  start: number;
  end: number;
}

export interface HashedRange {
  /** Lines that begin in the range (empty lines left out). */
  count: number;
  /** Each line's entry index, or -1 when the fast path did not take it. */
  indexes: Float64Array;
  /** 32 bytes per line: the leaf hash of each line taken. */
  leaves: Uint8Array;
  /** The lines not taken, by their position among the range's lines. */
  others: Map<number, Uint8Array>;
  /**
   * Where BLOCK consecutive lines hold the entries of an aligned perfect subtree (indexes
   * BLOCK·m to BLOCK·m + BLOCK - 1, each taken): the position of the block's first line, and
   * the subtree's root (32 bytes each in blockRoots), so the verifying thread folds one hash
   * for the block instead of BLOCK.
   */
  blockStarts: Int32Array;
  blockRoots: Uint8Array;
  /** Set when the range could not be read. */
  error?: string;
}

const NEWLINE = 10;
/** Bytes read past a range's end at a time, to finish its last line. */
const OVERRUN = 64 << 10;
const files = new Map<string, number>();

function read(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

function hashRange({ file, start, end }: HashRange): HashedRange {
  let fd = files.get(file);
  if (fd === undefined) files.set(file, (fd = fs.openSync(file, 'r')));
  // From one byte before the range: a newline there means a line begins at its start.
  const from = Math.max(0, start - 1);
  // Past its end too, so that finishing the last line rarely needs a second read.
  let bytes = read(fd, from, end - from + OVERRUN);
  /** The end of the line holding offset `o` of `bytes`: its newline, reading on as needed, or the file's end. */
  const lineEndFrom = (o: number): number => {
    for (;;) {
      const newline = bytes.indexOf(NEWLINE, o);
      if (newline >= 0) return newline;
      const more = read(fd, from + bytes.length, OVERRUN);
      if (more.length === 0) return bytes.length;
      bytes = Buffer.concat([bytes, more]);
    }
  };
  const capacity = Math.max(16, Math.ceil((end - start) / 256));
  let indexes = new Float64Array(capacity);
  let leaves = Buffer.allocUnsafeSlow(32 * capacity);
  const others = new Map<number, Uint8Array>();
  let count = 0;
  for (let lineStart = start === 0 ? 0 : lineEndFrom(0) + 1; from + lineStart < end; ) {
    const lineEnd = lineEndFrom(lineStart);
    if (lineEnd > lineStart) {
      if (count === indexes.length) {
        const grown = new Float64Array(indexes.length * 2);
        grown.set(indexes);
        indexes = grown;
        const grownLeaves = Buffer.allocUnsafeSlow(leaves.length * 2);
        leaves.copy(grownLeaves);
        leaves = grownLeaves;
      }
      const line = bytes.subarray(lineStart, lineEnd);
      const entry = readPlainEntryLine(line, true);
      if (entry) {
        indexes[count] = entry.index;
        leaves.write(entry.leaf, 32 * count, 'binary');
      } else {
        indexes[count] = -1;
        others.set(count, Uint8Array.prototype.slice.call(line));
      }
      count++;
    }
    if (lineEnd >= bytes.length) break; // the end of the file
    lineStart = lineEnd + 1;
  }
  const blocks = blockRootsOf(count, indexes, leaves);
  return { count, indexes, leaves, others, ...blocks };
}

function blockRootsOf(count: number, indexes: Float64Array, leaves: Buffer): { blockStarts: Int32Array; blockRoots: Uint8Array } {
  const starts: number[] = [];
  const roots: string[] = [];
  for (let k = 0; k + BLOCK <= count; ) {
    const first = indexes[k]!;
    let whole = first >= 0 && first % BLOCK === 0;
    for (let j = 1; whole && j < BLOCK; j++) whole = indexes[k + j] === first + j;
    if (!whole) {
      k++;
      continue;
    }
    const blockLeaves: string[] = new Array(BLOCK);
    for (let j = 0; j < BLOCK; j++) blockLeaves[j] = leaves.toString('latin1', 32 * (k + j), 32 * (k + j + 1));
    starts.push(k);
    roots.push(perfectRootLatin1(blockLeaves));
    k += BLOCK;
  }
  const blockRoots = Buffer.allocUnsafeSlow(32 * roots.length);
  roots.forEach((root, i) => blockRoots.write(root, 32 * i, 'latin1'));
  return { blockStarts: Int32Array.from(starts), blockRoots };
}

parentPort!.on('message', (range: HashRange) => {
  let hashed: HashedRange;
  try {
    hashed = hashRange(range);
  } catch (error) {
    hashed = { count: 0, indexes: new Float64Array(0), leaves: new Uint8Array(0), others: new Map(), blockStarts: new Int32Array(0), blockRoots: new Uint8Array(0), error: (error as Error).message };
  }
  parentPort!.postMessage(hashed, [hashed.indexes.buffer as ArrayBuffer, hashed.leaves.buffer as ArrayBuffer, hashed.blockStarts.buffer as ArrayBuffer, hashed.blockRoots.buffer as ArrayBuffer]);
});
