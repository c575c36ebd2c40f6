/**
 * The server's checkpoint signing key. One Ed25519 key signs every project's checkpoints; it is
 * made on first start and kept in the data directory (mode 0600) in the x/mod note signer
 * format, or given whole in configuration so that several nodes can share it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateSigner, parseSignerKey, type NoteSigner } from './signed-note.ts';

export const CHECKPOINT_KEY_FILE = 'checkpoint-key';

/** Loads the signer from `text` if given, else from the data directory, making it if missing. */
export function loadOrCreateSigner(dataDir: string, keyName: string, text?: string): NoteSigner {
  if (text) return parseSignerKey(text);
  const file = path.join(dataDir, CHECKPOINT_KEY_FILE);
  if (fs.existsSync(file)) return parseSignerKey(fs.readFileSync(file, 'utf8'));
  const signer = generateSigner(keyName);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, signer.signerText + '\n', { mode: 0o600, flag: 'wx' });
  return signer;
}

/** The checkpoint origin of a project's log: `<host>/v1/projects/<id>/log` (spec/tlog.md §5). */
export function logOrigin(originHost: string, projectId: string): string {
  return `${originHost}/v1/projects/${projectId}/log`;
}
