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
import { hash } from 'node:crypto';
import { canonicalize } from '../core/canonical-json.ts';
import { readLastLine } from '../core/lines.ts';
import { envelopeText } from '../core/envelope.ts';
import { parseCheckpoint, type Checkpoint } from './checkpoint.ts';
import { leafHash } from './hashing.ts';
import { openNote, type NoteVerifier } from './signed-note.ts';
import { TreeEdge } from './tree-edge.ts';
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
/** Leaf hashes folded into the tree per step. */
const FOLD_CHUNK = 4096;

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

/**
 * Verifies an export file: `veritrail verify`. Synchronous, reading the file in large chunks
 * and handing each line over with no copy and no await per line, so verification runs at the
 * speed of SHA-256 over the file (the lines are hashed in the read buffer itself).
 */
export function verifyExportFile(file: string, verifier: NoteVerifier, options: { chunkBytes?: number } = {}): ExportVerification {
  const state = new ExportVerifier(verifier, readLastLine(file), true);
  const fd = fs.openSync(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(options.chunkBytes ?? READ_CHUNK);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) {
        // A line longer than the buffer: grow it (an event is at most 256 KiB, but a file may lie).
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, filled);
        buffer = larger;
      }
      const read = fs.readSync(fd, buffer, filled, buffer.length - filled, null);
      const end = filled + read;
      let start = 0;
      for (let newline = buffer.indexOf(10, start); newline >= 0 && newline < end; newline = buffer.indexOf(10, start)) {
        state.line(buffer.subarray(start, newline));
        start = newline + 1;
      }
      if (read === 0) {
        if (start < end) state.line(buffer.subarray(start, end));
        break;
      }
      buffer.copy(buffer, 0, start, end);
      filled = end - start;
    }
  } catch (error) {
    return state.failed(error);
  } finally {
    fs.closeSync(fd);
  }
  return state.finish();
}

/** The running state of one verification, fed line by line. */
class ExportVerifier {
  private entries = 0;
  private checkpoint: Checkpoint | undefined;
  private edge = TreeEdge.empty();
  private pending: Buffer[] = [];
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
    const entries = this.entries;
    const { index, leaf, proof, leafMatches } = readEntryLine(line, entries, this.scratchLines);
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
      if (index >= announced.size || !verifyInclusion(index, announced.size, leaf, proof!, announced.root)) {
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
    this.pending.push(leaf);
    if (this.pending.length === FOLD_CHUNK) {
      this.edge = this.edge.extend(this.pending).edge;
      this.pending = [];
    }
    this.entries++;
  }

  /** After the last line: the whole verdict. */
  finish(): ExportVerification {
    try {
      if (this.announcedProblem) throw this.announcedProblem;
      const { checkpoint, entries } = this;
      if (!checkpoint) throw new ExportProblem('the export has no checkpoint line; it was cut short');
      if (this.partial) return { ok: true, entries, checkpoint, partial: true };
      this.edge = this.edge.extend(this.pending).edge;
      if (entries < checkpoint.size) throw new ExportProblem(`entry ${entries} is missing: the export stops at ${entries} of ${checkpoint.size} entries`, entries);
      if (entries > checkpoint.size) throw new ExportProblem(`the export has ${entries} entries but its checkpoint covers ${checkpoint.size}`, checkpoint.size);
      if (!this.edge.root().equals(checkpoint.root)) throw new ExportProblem('the entries do not hash to the checkpoint root (a leaf hash was changed)');
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

interface EntryLine {
  index: number;
  leaf: Buffer;
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
      leaf,
      leafMatches: leafHash(Buffer.concat([OPEN_BRACE, line.subarray(head[0].length)])).equals(leaf),
      ...(head[3] !== undefined ? { proof: head[3] === '' ? [] : head[3].split(',').map((h) => Buffer.from(h.slice(1, -1), 'base64')) } : {}),
    };
  }
  return readReserialisedLine(line, position);
}

const INDEX_MEMBER = Buffer.from('{"index":');
const LEAF_MEMBER = Buffer.from(',"leafHash":"');
const PROOF_MEMBER = Buffer.from('"inclusionProof":');
const LOWER_HEX = /^[0-9a-f]{64}$/;

/**
 * A whole-log export line as Veritrail writes it, taken apart byte by byte (the hot path of
 * `veritrail verify`: no regex over the line, no text, no copy). Undefined for anything else
 * (a line with an inclusion proof, or in another shape), which the general path reads. With
 * `scratch`, the two bytes before the envelope's members become 0x00 `{`, the leaf-hash input
 * of RFC 6962, and are hashed where they lie.
 */
function readPlainEntryLine(line: Buffer, scratch: boolean): EntryLine | undefined {
  const length = line.length;
  if (length < 100 || line.compare(INDEX_MEMBER, 0, INDEX_MEMBER.length, 0, INDEX_MEMBER.length) !== 0) return undefined;
  let p = INDEX_MEMBER.length;
  const digits = p;
  let index = 0;
  for (let c = line[p]!; c >= 48 && c <= 57 && p - digits < 16; c = line[++p]!) index = index * 10 + (c - 48);
  if (p === digits || (line[digits] === 48 && p - digits > 1)) return undefined;
  if (line.compare(LEAF_MEMBER, 0, LEAF_MEMBER.length, p, p + LEAF_MEMBER.length) !== 0) return undefined;
  p += LEAF_MEMBER.length;
  const hex = line.toString('latin1', p, p + 64);
  if (!LOWER_HEX.test(hex)) return undefined;
  p += 64;
  // `",` then the envelope's first member, which is never the inclusion proof here.
  if (line[p] !== 34 || line[p + 1] !== 44 || line.compare(PROOF_MEMBER, 0, PROOF_MEMBER.length, p + 2, Math.min(length, p + 2 + PROOF_MEMBER.length)) === 0) return undefined;
  const leaf = Buffer.from(hex, 'hex');
  let digest: Buffer;
  if (scratch) {
    line[p] = 0x00;
    line[p + 1] = 0x7b;
    digest = hash('sha256', line.subarray(p), 'buffer');
  } else {
    digest = leafHash(Buffer.concat([OPEN_BRACE, line.subarray(p + 2)]));
  }
  return { index, leaf, leafMatches: digest.equals(leaf) };
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
    leaf,
    leafMatches: leafHash(Buffer.from(envelopeText(canonicalize(event), eventId, projectId, receivedAt), 'utf8')).equals(leaf),
    ...(inclusionProof !== undefined ? { proof: (inclusionProof as string[]).map((h) => Buffer.from(h, 'base64')) } : {}),
  };
}
