/**
 * The JSONL export format (spec/api.md "Reading events"): one line per entry with index,
 * eventId, projectId, receivedAt, leafHash and event, then a last line `{"checkpoint": ...}`.
 *
 * A line is written as `{"index":I,"leafHash":"<hex>",` followed by the stored envelope without
 * its opening brace: the envelope's own members supply event, eventId, projectId and
 * receivedAt. So export never parses an entry, and a verifier can hash the exact stored bytes
 * back out of the line (`{` + the rest) without re-canonicalising the event.
 */
const PREFIX_INDEX = Buffer.from('{"index":');
const PREFIX_LEAF = Buffer.from(',"leafHash":"');
const PREFIX_END = Buffer.from('",');
const NEWLINE = Buffer.from('\n');

export function exportLine(index: number, leafHash: Buffer, envelope: Buffer): Buffer {
  return Buffer.concat([...entryParts(index, leafHash, envelope), NEWLINE]);
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

/** The line prefix a verifier can take apart without parsing the JSON. */
export const EXPORT_LINE_PATTERN = /^\{"index":(0|[1-9]\d*),"leafHash":"([0-9a-f]{64})",/;
