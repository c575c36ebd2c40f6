/**
 * Debian tools the tests drive (rsyslog, curl, PostgreSQL). CI runs only `npm ci && npm test`,
 * so a test that needs one installs it here when it is missing, once per machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** The path of `binary`, installing Debian package `pkg` first if it is not in one of `dirs`. */
export function ensureDebianTool(binary: string, pkg = binary, dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']): string {
  const find = () => dirs.map((d) => `${d}/${binary}`).find((p) => fs.existsSync(p));
  let found = find();
  if (found) return found;
  // Test files run two at a time; the second to get here waits for the first's dpkg lock.
  const run = (args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const update = run(['update', '-qq']);
  const install = run(['install', '-y', '-qq', '--no-install-recommends', pkg]);
  found = find();
  if (!found) throw new Error(`${binary} is missing and apt-get could not install ${pkg}:\n${update.stderr}\n${install.stderr}`);
  return found;
}
