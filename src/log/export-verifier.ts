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
import { canonicalize } from '../core/canonical-json.ts';
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
  let entries = 0;
  let checkpoint: Checkpoint | undefined;
  let edge = TreeEdge.empty();
  let pending: Buffer[] = [];
  let sawCheckpoint = false;
  /** Set by the first entry line: whether lines carry inclusion proofs (a from/to export). */
  let partial: boolean | undefined;
  let lastIndex = -1;
  try {
    const announced = options.checkpointLine && isCheckpointLine(options.checkpointLine) ? readCheckpointLine(options.checkpointLine, verifier) : undefined;
    for await (const line of lines) {
      if (line.length === 0) continue;
      if (sawCheckpoint) throw new ExportProblem('there are lines after the checkpoint line');
      if (isCheckpointLine(line)) {
        sawCheckpoint = true;
        checkpoint = readCheckpointLine(line, verifier);
        if (announced && !(announced.size === checkpoint.size && announced.root.equals(checkpoint.root))) throw new ExportProblem('the checkpoint line is not the one given first');
        continue;
      }
      const { index, leaf, envelope, proof } = readEntryLine(line, entries);
      partial ??= proof !== undefined;
      if (partial !== (proof !== undefined)) throw new ExportProblem(`entry ${index}: some lines carry an inclusion proof and some do not`, index);
      if (partial) {
        // A from/to export: each line stands on its own against the checkpoint.
        if (!announced) {
          throw new ExportProblem(
            options.checkpointLine ? 'the export has no checkpoint line; it was cut short' : 'this is a from/to export (its lines carry inclusion proofs); its checkpoint line must be read first',
          );
        }
        if (index <= lastIndex) throw new ExportProblem(`entry ${index} appears out of order`, index);
        if (!leafHash(envelope).equals(leaf)) throw new ExportProblem(`entry ${index}: its bytes do not match its leaf hash`, index);
        if (index >= announced.size || !verifyInclusion(index, announced.size, leaf, proof!, announced.root)) {
          throw new ExportProblem(`entry ${index}: its inclusion proof does not lead to the checkpoint root`, index);
        }
        lastIndex = index;
        entries++;
        continue;
      }
      if (index !== entries) {
        throw index > entries ? new ExportProblem(`entry ${entries} is missing (the next line is entry ${index})`, entries) : new ExportProblem(`entry ${index} appears out of order`, index);
      }
      if (!leafHash(envelope).equals(leaf)) throw new ExportProblem(`entry ${index}: its bytes do not match its leaf hash`, index);
      pending.push(leaf);
      if (pending.length === FOLD_CHUNK) {
        edge = edge.extend(pending).edge;
        pending = [];
      }
      entries++;
    }
    if (!checkpoint) throw new ExportProblem('the export has no checkpoint line; it was cut short');
    if (partial) return { ok: true, entries, checkpoint, partial: true };
    edge = edge.extend(pending).edge;
    if (entries < checkpoint.size) throw new ExportProblem(`entry ${entries} is missing: the export stops at ${entries} of ${checkpoint.size} entries`, entries);
    if (entries > checkpoint.size) throw new ExportProblem(`the export has ${entries} entries but its checkpoint covers ${checkpoint.size}`, checkpoint.size);
    if (!edge.root().equals(checkpoint.root)) throw new ExportProblem('the entries do not hash to the checkpoint root (a leaf hash was changed)');
    return { ok: true, entries, checkpoint };
  } catch (error) {
    if (!(error instanceof ExportProblem)) throw error;
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

function readEntryLine(line: Buffer, position: number): { index: number; leaf: Buffer; envelope: Buffer; proof?: Buffer[] } {
  const head = EXPORT_LINE_PATTERN.exec(line.subarray(0, EXPORT_LINE_PREFIX_MAX).toString('latin1'));
  if (head) {
    return {
      index: Number(head[1]),
      leaf: Buffer.from(head[2]!, 'hex'),
      envelope: Buffer.concat([OPEN_BRACE, line.subarray(head[0].length)]),
      ...(head[3] !== undefined ? { proof: head[3] === '' ? [] : head[3].split(',').map((h) => Buffer.from(h.slice(1, -1), 'base64')) } : {}),
    };
  }
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
  return {
    index: index as number,
    leaf: Buffer.from(leafHex, 'hex'),
    envelope: Buffer.from(envelopeText(canonicalize(event), eventId, projectId, receivedAt), 'utf8'),
    ...(inclusionProof !== undefined ? { proof: (inclusionProof as string[]).map((h) => Buffer.from(h, 'base64')) } : {}),
  };
}
