/**
 * Debian tools a test drives (curl, …): installed by the test itself when missing, once, so that
 * CI, which runs only `npm ci && npm test`, has them (the preamble's rule for Debian packages).
 */
import { spawnSync } from 'node:child_process';

const ensured = new Set<string>();

/** Makes sure `command` runs (`command --version`), installing Debian package `pkg` if not. */
export function ensureDebianCommand(command: string, pkg = command): void {
  if (ensured.has(command)) return;
  if (spawnSync(command, ['--version'], { stdio: 'ignore' }).status !== 0) {
    const installed = spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], { stdio: 'inherit' });
    if (installed.status !== 0 || spawnSync(command, ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`${command} is missing and \`apt-get install ${pkg}\` did not provide it`);
    }
  }
  ensured.add(command);
}
