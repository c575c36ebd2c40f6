/**
 * The server's checkpoint signing key. One Ed25519 key signs every project's checkpoints; it is
 * made on first start and kept in the data directory (mode 0600) in the x/mod note signer
 * format, or given whole in configuration so that several nodes can share it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { generateSigner, parseSignerKey, type NoteSigner } from './signed-note.ts';

export const CHECKPOINT_KEY_FILE = 'checkpoint-key';

/** The signer from `text` if given, else from the data directory's key file; undefined if neither. */
export function loadSigner(dataDir: string, text?: string): NoteSigner | undefined {
  if (text) return parseSignerKey(text);
  const file = path.join(dataDir, CHECKPOINT_KEY_FILE);
  return fs.existsSync(file) ? parseSignerKey(fs.readFileSync(file, 'utf8')) : undefined;
}

/**
 * Loads the signer as loadSigner does, making it if missing unless `create` is false: a store
 * shared by several nodes needs one key on all of them, and a node that made its own would sign
 * checkpoints no other node's verifier key accepts.
 */
export function loadOrCreateSigner(dataDir: string, keyName: string, text?: string, options: { create?: boolean } = {}): NoteSigner {
  const loaded = loadSigner(dataDir, text);
  if (loaded) return loaded;
  const file = path.join(dataDir, CHECKPOINT_KEY_FILE);
  if (options.create === false) {
    throw new Error(
      `this store is shared by several nodes, so every node must sign with the same checkpoint key, and none was given: make one with \`veritrail keys checkpoint --origin-host ${keyName}\` and give it to every node as VERITRAIL_CHECKPOINT_KEY (or --checkpoint-key, or the file ${file})`,
    );
  }
  const signer = generateSigner(keyName);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, signer.signerText + '\n', { mode: 0o600, flag: 'wx' });
  return signer;
}

/** The checkpoint origin of a project's log: `<host>/v1/projects/<id>/log` (spec/tlog.md §5). */
export function logOrigin(originHost: string, projectId: string): string {
  return `${originHost}/v1/projects/${projectId}/log`;
}
