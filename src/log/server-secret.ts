/**
 * The server secret: 32 random bytes that key the SecretBox (stored secrets a protocol needs in
 * clear) and any server-issued tokens. Made on first start in the data directory (mode 0600),
 * or given in configuration (base64) so several nodes share it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export const SERVER_SECRET_FILE = 'server-secret';

export function loadOrCreateServerSecret(dataDir: string, base64?: string, options: { create?: boolean } = {}): Buffer {
  if (base64) {
    const secret = Buffer.from(base64, 'base64');
    if (secret.length < 32) throw new Error('VERITRAIL_SERVER_SECRET must be at least 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)');
    return secret;
  }
  const file = path.join(dataDir, SERVER_SECRET_FILE);
  if (fs.existsSync(file)) return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  // Nodes sharing a store must share the secret, or one node could not open what another sealed.
  if (options.create === false) {
    throw new Error('a node on a shared store needs the server secret from configuration: set VERITRAIL_SERVER_SECRET (e.g. `openssl rand -base64 32`) to the same value on every node');
  }
  const secret = randomBytes(32);
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
