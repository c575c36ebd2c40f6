/** Lines as bytes (without their newline), never as text: export files, NDJSON bodies. */
import fs from 'node:fs';

const NEWLINE = 10;

/** Calls `each` with the bounds of every line of a chunk (a last line may lack its newline). */
export function forEachLine(chunk: Buffer, each: (start: number, end: number) => void): void {
  let start = 0;
  for (let newline = chunk.indexOf(NEWLINE); newline >= 0; newline = chunk.indexOf(NEWLINE, start)) {
    each(start, newline);
    start = newline + 1;
  }
  if (start < chunk.length) each(start, chunk.length);
}

/** Splits a stream of byte chunks into lines, as Buffers. */
export async function* splitLines(chunks: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const data: Buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const whole = data.lastIndexOf(NEWLINE) + 1;
    const lines: Buffer[] = [];
    forEachLine(data.subarray(0, whole), (start, end) => lines.push(data.subarray(start, end)));
    yield* lines;
    rest = data.subarray(whole);
  }
  if (rest.length > 0) yield rest;
}

/**
 * A file, from the descriptor's position, in chunks that each end at a line end (or the end of
 * the file), each in a buffer of its own. A line longer than `chunkBytes` grows the chunk.
 */
export function* readLineChunks(fd: number, chunkBytes: number): Generator<Buffer> {
  let carry = Buffer.alloc(0);
  for (let size = chunkBytes; ; ) {
    const buffer = Buffer.allocUnsafeSlow(Math.max(size, carry.length + 1));
    carry.copy(buffer);
    const read = fs.readSync(fd, buffer, carry.length, buffer.length - carry.length, null);
    const end = carry.length + read;
    if (read === 0) {
      if (end > 0) yield buffer.subarray(0, end);
      return;
    }
    const lastNewline = buffer.lastIndexOf(NEWLINE, end - 1);
    if (lastNewline < 0) {
      // No line end yet: read on into a larger buffer.
      carry = buffer.subarray(0, end);
      size = buffer.length * 2;
      continue;
    }
    carry = Buffer.from(buffer.subarray(lastNewline + 1, end));
    size = chunkBytes;
    yield buffer.subarray(0, lastNewline + 1);
  }
}

/**
 * The last non-empty line of a file (without its newline), reading only the file's tail: how a
 * verifier finds an export's checkpoint line before reading the lines it covers.
 */
export function readLastLine(file: string, maxBytes = 1 << 16): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const tail = Buffer.alloc(length);
    fs.readSync(fd, tail, 0, length, size - length);
    let end = tail.length;
    while (end > 0 && (tail[end - 1] === 10 || tail[end - 1] === 13)) end--;
    return tail.subarray(tail.lastIndexOf(10, end - 1) + 1, end);
  } finally {
    fs.closeSync(fd);
  }
}
