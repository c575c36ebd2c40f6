/**
 * The JSONL export format (spec/api.md "Reading events"): one line per entry with index,
 * eventId, projectId, receivedAt, leafHash and event, then a last line `{"checkpoint": ...}`.
 *
 * A line is written as `{"index":I,"leafHash":"<hex>",` followed by the stored envelope without
 * its opening brace: the envelope's own members supply event, eventId, projectId and
 * receivedAt. So export never parses an entry, and a verifier can hash the exact stored bytes
 * back out of the line (`{` + the rest) without re-canonicalising the event.
 *
 * A whole-log export is the prefix [0, checkpoint size) of the log, and the verifier rebuilds
 * the tree from its lines. A from/to export is not: it holds the entries of a time range only,
 * so each of its lines also carries `"inclusionProof":["<base64>",…]` (RFC 6962 §2.1.1, against
 * the tree of the final checkpoint line), written after leafHash and before the envelope's
 * members, and the verifier checks each line on its own against that checkpoint.
 */
const PREFIX_INDEX = Buffer.from('{"index":');
const PREFIX_LEAF = Buffer.from(',"leafHash":"');
const PREFIX_PROOF = Buffer.from(',"inclusionProof":[');
const PREFIX_END = Buffer.from('",');
const NEWLINE = Buffer.from('\n');

export function exportLine(index: number, leafHash: Buffer, envelope: Buffer, inclusionProof?: readonly Buffer[]): Buffer {
  if (!inclusionProof) return Buffer.concat([...entryParts(index, leafHash, envelope), NEWLINE]);
  const proof = inclusionProof.map((hash) => `"${hash.toString('base64')}"`).join(',');
  return Buffer.concat([PREFIX_INDEX, Buffer.from(String(index)), PREFIX_LEAF, Buffer.from(leafHash.toString('hex')), Buffer.from('"'), PREFIX_PROOF, Buffer.from(proof), Buffer.from('],'), envelope.subarray(1), NEWLINE]);
}

/**
 * One entry as the JSON object `{"index", "leafHash", "event", "eventId", "projectId",
 * "receivedAt"}` (an export line without its newline; also a search result), built around the
 * stored bytes without parsing them.
 */
export function entryJson(index: number, leafHash: Buffer, envelope: Buffer): Buffer {
  return Buffer.concat(entryParts(index, leafHash, envelope));
}

function entryParts(index: number, leafHash: Buffer, envelope: Buffer): Buffer[] {
  return [PREFIX_INDEX, Buffer.from(String(index)), PREFIX_LEAF, Buffer.from(leafHash.toString('hex')), PREFIX_END, envelope.subarray(1)];
}

export function checkpointLine(note: string): Buffer {
  return Buffer.from(JSON.stringify({ checkpoint: note }) + '\n');
}

/**
 * The line prefix a verifier can take apart without parsing the JSON: index, leaf hash, and the
 * inclusion proof of a from/to export's lines.
 */
export const EXPORT_LINE_PATTERN = /^\{"index":(0|[1-9]\d*),"leafHash":"([0-9a-f]{64})",(?:"inclusionProof":\[((?:"[A-Za-z0-9+/]{43}=",?){0,64})\],)?/;
/** How many bytes of a line EXPORT_LINE_PATTERN may need: a prefix with a 64-hash proof. */
export const EXPORT_LINE_PREFIX_MAX = 120 + 64 * 47;
