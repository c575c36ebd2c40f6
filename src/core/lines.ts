import fs from 'node:fs';
/** Splits a stream of byte chunks into lines (without the newline), as Buffers, never as text. */
export async function* splitLines(chunks: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const data: Buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let end = data.indexOf(10, start); end >= 0; end = data.indexOf(10, start)) {
      yield data.subarray(start, end);
      start = end + 1;
    }
    rest = data.subarray(start);
  }
  if (rest.length > 0) yield rest;
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
