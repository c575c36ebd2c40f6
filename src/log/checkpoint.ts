/**
 * C2SP tlog-checkpoint bodies (spec/tlog.md §4.2): origin, decimal tree size, base64 root hash,
 * each on its own line.
 */
import { HASH_SIZE } from './hashing.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
}

export function formatCheckpoint({ origin, size, root }: Checkpoint): string {
  return `${origin}\n${size}\n${root.toString('base64')}\n`;
}

/** Parses checkpoint text (the note text, before the signatures). Throws on any deviation. */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('checkpoint has fewer than three lines');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!origin || /\s/.test(origin)) throw new Error('checkpoint origin is empty or holds a space');
  if (!/^(0|[1-9]\d*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new Error('checkpoint size is not a decimal number');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) throw new Error('checkpoint root is not a base64 SHA-256 hash');
  return { origin, size: Number(sizeText), root };
}
