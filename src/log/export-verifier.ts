/**
 * Offline verification of a JSONL export (spec/api.md "Reading events") against a server's
 * verifier key: every line's bytes against its leaf hash, the lines' positions against the
 * tree, the tree against the checkpoint, and the checkpoint's signature.
 *
 * Lines written by Veritrail are `{"index":I,"leafHash":"<hex>",` + the envelope's members
 * (export-format.ts), so the stored envelope is `{` + the rest of the line and is hashed
 * as is, with no parse: that is what lets verification run at hashing speed. A line in any
 * other member order (re-serialised by some tool) is parsed and its envelope rebuilt.
 *
 * Two kinds of export verify differently:
 *  - a whole-log export holds entries 0, 1, …, n-1: their leaf hashes must fold to the root of
 *    the checkpoint of size n, which proves no entry is missing, added or changed;
 *  - a from/to export holds some entries only, each line with its inclusion proof: each must
 *    prove its entry is at its index in the checkpoint's tree, and indexes must increase. That
 *    proves every line is in the log unchanged; it cannot prove the range left nothing out
 *    (only the whole log could), and the result says so (`partial`).
 * A from/to export needs its checkpoint before its lines: pass the last line as `checkpointLine`
 * (the CLI reads a file's last line first).
 */
import fs from 'node:fs';
import os from 'node:os';
import { hash } from 'node:crypto';
import { canonicalize } from '../core/canonical-json.ts';
import { forEachLine, readLastLine, readLineChunks } from '../core/lines.ts';
import { startTsWorker } from '../core/ts-worker.ts';
import type { HashedRange, HashRange } from './export-hash-worker.ts';
import { envelopeText } from '../core/envelope.ts';
import { parseCheckpoint, type Checkpoint } from './checkpoint.ts';
import { leafHash } from './hashing.ts';
import { openNote, type NoteVerifier } from './signed-note.ts';
import { FOLD_BLOCK, RootFolder } from './root-folder.ts';
import { EXPORT_LINE_PATTERN, EXPORT_LINE_PREFIX_MAX } from './export-format.ts';
import { verifyInclusion } from './merkle.ts';

export interface ExportVerification {
  ok: boolean;
  /** Entry lines read. */
  entries: number;
  checkpoint?: Checkpoint;
  /** The first index found bad or missing, when there is one. */
  firstBadIndex?: number;
  /** A from/to export: each line proven included; completeness of the range not provable. */
  partial?: boolean;
  problem?: string;
}

const OPEN_BRACE = Buffer.from('{');
/** RFC 6962's leaf prefix and the envelope's opening brace. */
const LEAF_INPUT_START = Buffer.from([0x00, 0x7b]);

class ExportProblem extends Error {
  constructor(
    message: string,
    readonly index?: number,
  ) {
    super(message);
  }
}

/**
 * Verifies an export given its lines (without newlines) and its checkpoint line, which the
 * caller reads first (it is the file's last line). Lines must arrive in file order.
 */
export async function verifyExport(lines: AsyncIterable<Buffer>, verifier: NoteVerifier, options: { checkpointLine?: Buffer } = {}): Promise<ExportVerification> {
  const state = new ExportVerifier(verifier, options.checkpointLine, false);
  try {
    for await (const line of lines) state.line(line);
  } catch (error) {
    return state.failed(error);
  }
  return state.finish();
}

/** Bytes read from an export file at a time. */
const READ_CHUNK = 4 << 20;
/** Below this size a file is verified on the calling thread: starting workers would cost more. */
const PARALLEL_MIN_BYTES = 32 << 20;

export interface VerifyFileOptions {
  /** Bytes per read (default 4 MiB); a chunk grows to hold a longer line. */
  chunkBytes?: number;
  /**
   * Worker threads that hash lines (0: none, all on this thread). By default, files of 32 MiB
   * or more use two, or one on a single core; a from/to export uses none: its lines carry
   * inclusion proofs, which the workers' fast path leaves to this thread.
   */
  threads?: number;
}

/**
 * Verifies an export file: `veritrail verify`. The file is read in large chunks that end at a
 * line end, with no copy and no await per line: hashing, nearly all the work, runs on the read
 * buffers themselves, in worker threads for a large file (each chunk to the next worker, whose
 * leaf hashes come back in file order), while this thread folds them into the root and checks
 * what needs order: indexes, the checkpoint, the lines the fast path leaves to it.
 */
export async function verifyExportFile(file: string, verifier: NoteVerifier, options: VerifyFileOptions = {}): Promise<ExportVerification> {
  const state = new ExportVerifier(verifier, readLastLine(file), true);
  const fd = fs.openSync(file, 'r');
  const threads = options.threads ?? (fs.fstatSync(fd).size >= PARALLEL_MIN_BYTES && !firstLineCarriesProof(fd) ? Math.min(2, os.availableParallelism()) : 0);
  const workers = Array.from({ length: threads }, () => new HashWorker());
  try {
    const chunkBytes = options.chunkBytes ?? READ_CHUNK;
    if (threads === 0) {
      for (const chunk of readLineChunks(fd, chunkBytes)) forEachLine(chunk, (start, end) => state.line(chunk.subarray(start, end)));
    } else {
      // Each worker takes the next range of the file, two deep; results are taken in file order.
      const size = fs.fstatSync(fd).size;
      const inFlight: Promise<HashedRange>[] = [];
      let next = 0;
      const send = () => {
        if (next * chunkBytes >= size) return false;
        const start = next * chunkBytes;
        inFlight.push(workers[next++ % threads]!.hash({ file, start, end: Math.min(size, start + chunkBytes) }));
        return true;
      };
      for (let i = 0; i < 2 * threads && send(); i++);
      while (inFlight.length > 0) {
        const hashed = await inFlight.shift()!;
        send();
        if (hashed.error) throw new Error(`couldn't read ${file}: ${hashed.error}`);
        const leaves = Buffer.from(hashed.leaves.buffer, hashed.leaves.byteOffset, hashed.leaves.byteLength);
        const blockRoots = Buffer.from(hashed.blockRoots.buffer, hashed.blockRoots.byteOffset, hashed.blockRoots.byteLength);
        let block = 0;
        for (let k = 0; k < hashed.count; ) {
          const index = hashed.indexes[k]!;
          if (block < hashed.blockStarts.length && hashed.blockStarts[block] === k) {
            const root = blockRoots.toString('binary', 32 * block, 32 * block + 32);
            block++;
            if (state.plainBlock(index, root, FOLD_BLOCK)) {
              k += FOLD_BLOCK;
              continue;
            }
          }
          if (index >= 0) state.plainEntry(index, leaves.toString('binary', 32 * k, 32 * k + 32));
          else {
            const line = hashed.others.get(k)!;
            state.line(Buffer.from(line.buffer, line.byteOffset, line.byteLength));
          }
          k++;
        }
      }
    }
  } catch (error) {
    return state.failed(error);
  } finally {
    fs.closeSync(fd);
    await Promise.all(workers.map((worker) => worker.stop()));
  }
  return state.finish();
}

/** Whether the file's first line, as Veritrail writes it, carries an inclusion proof: a from/to export. */
function firstLineCarriesProof(fd: number): boolean {
  const head = Buffer.alloc(EXPORT_LINE_PREFIX_MAX);
  const read = fs.readSync(fd, head, 0, head.length, 0);
  return EXPORT_LINE_PATTERN.exec(head.toString('latin1', 0, read))?.[3] !== undefined;
}

/** One worker thread of export-hash-worker.ts; it answers requests in the order they came. */
class HashWorker {
  private readonly worker = startTsWorker('src/log/export-hash-worker.ts');
  private readonly waiting: Array<{ resolve(hashed: HashedRange): void; reject(error: Error): void }> = [];

  constructor() {
    this.worker.on('message', (hashed: HashedRange) => this.waiting.shift()?.resolve(hashed));
    this.worker.on('error', (error) => {
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    });
  }

  hash(range: HashRange): Promise<HashedRange> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.postMessage(range);
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The running state of one verification, fed line by line. */
class ExportVerifier {
  private entries = 0;
  private checkpoint: Checkpoint | undefined;
  private readonly folder = new RootFolder();
  private sawCheckpoint = false;
  /** Set by the first entry line: whether lines carry inclusion proofs (a from/to export). */
  private partial: boolean | undefined;
  private lastIndex = -1;
  private readonly announced: Checkpoint | undefined;
  private readonly announcedProblem: unknown;

  constructor(
    private readonly verifier: NoteVerifier,
    private readonly checkpointLine: Buffer | undefined,
    /** The caller's line buffers may be written over (hashed in place). */
    private readonly scratchLines: boolean,
  ) {
    try {
      this.announced = checkpointLine && isCheckpointLine(checkpointLine) ? readCheckpointLine(checkpointLine, verifier) : undefined;
    } catch (error) {
      this.announcedProblem = error;
    }
  }

  /** Takes one line (without its newline); throws an ExportProblem at the first fault. */
  line(line: Buffer): void {
    if (this.announcedProblem) throw this.announcedProblem;
    if (line.length === 0) return;
    if (this.sawCheckpoint) throw new ExportProblem('there are lines after the checkpoint line');
    if (isCheckpointLine(line)) {
      this.sawCheckpoint = true;
      const checkpoint = (this.checkpoint = readCheckpointLine(line, this.verifier));
      const announced = this.announced;
      if (announced && !(announced.size === checkpoint.size && announced.root.equals(checkpoint.root))) throw new ExportProblem('the checkpoint line is not the one given first');
      return;
    }
    this.entry(readEntryLine(line, this.entries, this.scratchLines));
  }

  /** An entry line the fast path read (readPlainEntryLine) elsewhere: its index and its matching leaf hash. */
  plainEntry(index: number, leaf: string): void {
    if (this.announcedProblem) throw this.announcedProblem;
    if (this.sawCheckpoint) throw new ExportProblem('there are lines after the checkpoint line');
    this.entry({ index, leaf, leafMatches: true });
  }

  /**
   * `size` entries from `index` on, read on the fast path elsewhere, as the root of their perfect
   * subtree. False (nothing taken) unless they are exactly the next entries of a whole-log
   * export at an aligned place: the caller then gives them one by one, for the same verdict.
   */
  plainBlock(index: number, root: string, size: number): boolean {
    if (this.announcedProblem || this.sawCheckpoint || this.partial === true || index !== this.entries || this.entries % size !== 0) return false;
    this.partial = false;
    this.folder.addSubtree(root, size);
    this.entries += size;
    return true;
  }

  private entry({ index, leaf, proof, leafMatches }: EntryLine): void {
    const entries = this.entries;
    this.partial ??= proof !== undefined;
    if (this.partial !== (proof !== undefined)) throw new ExportProblem(`entry ${index}: some lines carry an inclusion proof and some do not`, index);
    if (this.partial) {
      // A from/to export: each line stands on its own against the checkpoint.
      const announced = this.announced;
      if (!announced) {
        throw new ExportProblem(
          this.checkpointLine ? 'the export has no checkpoint line; it was cut short' : 'this is a from/to export (its lines carry inclusion proofs); its checkpoint line must be read first',
        );
      }
      if (index <= this.lastIndex) throw new ExportProblem(`entry ${index} appears out of order`, index);
      if (!leafMatches) throw new ExportProblem(`entry ${index}: its bytes do not match its leaf hash`, index);
      if (index >= announced.size || !verifyInclusion(index, announced.size, Buffer.from(leaf, 'latin1'), proof!, announced.root)) {
        throw new ExportProblem(`entry ${index}: its inclusion proof does not lead to the checkpoint root`, index);
      }
      this.lastIndex = index;
      this.entries++;
      return;
    }
    if (index !== entries) {
      throw index > entries ? new ExportProblem(`entry ${entries} is missing (the next line is entry ${index})`, entries) : new ExportProblem(`entry ${index} appears out of order`, index);
    }
    if (!leafMatches) throw new ExportProblem(`entry ${index}: its bytes do not match its leaf hash`, index);
    this.folder.add(leaf);
    this.entries++;
  }

  /** After the last line: the whole verdict. */
  finish(): ExportVerification {
    try {
      if (this.announcedProblem) throw this.announcedProblem;
      const { checkpoint, entries } = this;
      if (!checkpoint) throw new ExportProblem('the export has no checkpoint line; it was cut short');
      if (this.partial) return { ok: true, entries, checkpoint, partial: true };
      if (entries < checkpoint.size) throw new ExportProblem(`entry ${entries} is missing: the export stops at ${entries} of ${checkpoint.size} entries`, entries);
      if (entries > checkpoint.size) throw new ExportProblem(`the export has ${entries} entries but its checkpoint covers ${checkpoint.size}`, checkpoint.size);
      if (!this.folder.root().equals(checkpoint.root)) throw new ExportProblem('the entries do not hash to the checkpoint root (a leaf hash was changed)');
      return { ok: true, entries, checkpoint };
    } catch (error) {
      return this.failed(error);
    }
  }

  /** The verdict for a fault thrown by line() or finish(); anything else is rethrown. */
  failed(error: unknown): ExportVerification {
    if (!(error instanceof ExportProblem)) throw error;
    const { entries, checkpoint } = this;
    return { ok: false, entries, checkpoint, problem: error.message, ...(error.index !== undefined ? { firstBadIndex: error.index } : {}) };
  }
}

function isCheckpointLine(line: Buffer): boolean {
  return line.subarray(0, 14).toString() === '{"checkpoint":';
}

function readCheckpointLine(line: Buffer, verifier: NoteVerifier): Checkpoint {
  let note: unknown;
  try {
    note = (JSON.parse(line.toString('utf8')) as { checkpoint?: unknown }).checkpoint;
  } catch {
    throw new ExportProblem('the checkpoint line is not JSON');
  }
  if (typeof note !== 'string') throw new ExportProblem('the checkpoint line holds no note');
  try {
    return parseCheckpoint(openNote(note, [verifier]));
  } catch (error) {
    throw new ExportProblem(`the checkpoint does not verify with key ${verifier.name}: ${(error as Error).message}`);
  }
}

export interface EntryLine {
  index: number;
  /** The line's leaf hash, as a latin1 string (root-folder.ts says why). */
  leaf: string;
  proof?: Buffer[];
  /** The line's envelope bytes hash to its leaf hash. */
  leafMatches: boolean;
}

function readEntryLine(line: Buffer, position: number, scratch: boolean): EntryLine {
  const fast = readPlainEntryLine(line, scratch);
  if (fast) return fast;
  const head = EXPORT_LINE_PATTERN.exec(line.subarray(0, EXPORT_LINE_PREFIX_MAX).toString('latin1'));
  if (head) {
    const leaf = Buffer.from(head[2]!, 'hex');
    return {
      index: Number(head[1]),
      leaf: leaf.toString('latin1'),
      leafMatches: leafHash(Buffer.concat([OPEN_BRACE, line.subarray(head[0].length)])).equals(leaf),
      ...(head[3] !== undefined ? { proof: head[3] === '' ? [] : head[3].split(',').map((h) => Buffer.from(h.slice(1, -1), 'base64')) } : {}),
    };
  }
  return readReserialisedLine(line, position);
}

const INDEX_MEMBER = Buffer.from('{"index":');
const LEAF_MEMBER = Buffer.from(',"leafHash":"');
const PROOF_MEMBER = Buffer.from('"inclusionProof":');
/** Whether `line` holds `expected` at `offset` (Buffer.compare with offsets costs more, per call, for a few bytes). */
function bytesAt(line: Buffer, offset: number, expected: Buffer): boolean {
  if (offset + expected.length > line.length) return false;
  for (let i = 0; i < expected.length; i++) if (line[offset + i] !== expected[i]) return false;
  return true;
}

/** ASCII of the lowercase hex digits. */
const HEX_DIGITS = Buffer.from('0123456789abcdef');
/** The digest of the line just hashed, to compare with its hex digits byte by byte. */
const digestBytes = Buffer.alloc(32);

/**
 * A whole-log export line as Veritrail writes it, whose bytes match its leaf hash, taken apart
 * byte by byte: the hot path of `veritrail verify`, with no regex, no copy, and no text but the
 * digest. Undefined for anything else (a line with an inclusion proof, another shape, a leaf
 * hash that does not match), which the general path reads and, for a fault, names.
 *
 * With `scratch`, the two bytes before the envelope's members become 0x00 `{` (the leaf-hash
 * input of RFC 6962) while they are hashed where they lie, and are put back after.
 */
export function readPlainEntryLine(line: Buffer, scratch: boolean): EntryLine | undefined {
  if (line.length < 100 || !bytesAt(line, 0, INDEX_MEMBER)) return undefined;
  let p = INDEX_MEMBER.length;
  const digits = p;
  let index = 0;
  for (let c = line[p]!; c >= 48 && c <= 57 && p - digits < 16; c = line[++p]!) index = index * 10 + (c - 48);
  if (p === digits || (line[digits] === 48 && p - digits > 1)) return undefined;
  if (!bytesAt(line, p, LEAF_MEMBER)) return undefined;
  const hex = p + LEAF_MEMBER.length;
  p = hex + 64;
  // `",` then the envelope's first member, which is never the inclusion proof here.
  if (line[p] !== 34 || line[p + 1] !== 44 || bytesAt(line, p + 2, PROOF_MEMBER)) return undefined;
  let digest: string;
  if (scratch) {
    line[p] = 0x00;
    line[p + 1] = 0x7b;
    digest = hash('sha256', line.subarray(p), 'binary');
    line[p] = 34;
    line[p + 1] = 44;
  } else {
    digest = hash('sha256', Buffer.concat([LEAF_INPUT_START, line.subarray(p + 2)]), 'binary');
  }
  digestBytes.write(digest, 0, 'latin1');
  for (let i = 0; i < 32; i++) {
    const byte = digestBytes[i]!;
    if (line[hex + 2 * i] !== HEX_DIGITS[byte >> 4] || line[hex + 2 * i + 1] !== HEX_DIGITS[byte & 15]) return undefined;
  }
  return { index, leaf: digest, leafMatches: true };
}

/** A line some tool re-serialised (other member order or spacing): parsed, its envelope rebuilt. */
function readReserialisedLine(line: Buffer, position: number): EntryLine {
  let parsed: { index?: unknown; leafHash?: unknown; eventId?: unknown; projectId?: unknown; receivedAt?: unknown; event?: unknown; inclusionProof?: unknown };
  try {
    parsed = JSON.parse(line.toString('utf8'));
  } catch {
    throw new ExportProblem(`line ${position + 1} is not JSON`, position);
  }
  const { index, leafHash: leafHex, eventId, projectId, receivedAt, event, inclusionProof } = parsed;
  const proofOk = inclusionProof === undefined || (Array.isArray(inclusionProof) && inclusionProof.every((h) => typeof h === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(h)));
  if (
    !Number.isSafeInteger(index) ||
    typeof leafHex !== 'string' ||
    !/^[0-9a-f]{64}$/.test(leafHex) ||
    typeof eventId !== 'string' ||
    typeof projectId !== 'string' ||
    typeof receivedAt !== 'string' ||
    typeof event !== 'object' ||
    event === null ||
    !proofOk
  ) {
    throw new ExportProblem(`line ${position + 1} is not an export entry`, position);
  }
  const leaf = Buffer.from(leafHex, 'hex');
  return {
    index: index as number,
    leaf: leaf.toString('latin1'),
    leafMatches: leafHash(Buffer.from(envelopeText(canonicalize(event), eventId, projectId, receivedAt), 'utf8')).equals(leaf),
    ...(inclusionProof !== undefined ? { proof: (inclusionProof as string[]).map((h) => Buffer.from(h, 'base64')) } : {}),
  };
}
