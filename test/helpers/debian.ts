/**
 * Debian tools the tests drive (rsyslog, curl). CI runs only `npm ci && npm test`, so a test
 * that needs one installs it here when it is missing, once per machine.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** The path of `binary`, installing Debian package `pkg` first if it is not there. */
export function ensureDebianTool(binary: string, pkg: string, dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']): string {
  const find = () => dirs.map((d) => `${d}/${binary}`).find((p) => fs.existsSync(p));
  let found = find();
  if (found) return found;
  const run = (args: string[]) => spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const update = run(['apt-get', 'update', '-qq']);
  const install = run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', pkg]);
  found = find();
  if (!found) throw new Error(`${binary} is missing and apt-get could not install ${pkg}:\n${update.stderr}\n${install.stderr}`);
  return found;
}

/** Makes sure `command` is on this machine, installing Debian package `pkg` if not. */
export function ensureDebianCommand(command: string, pkg = command): void {
  ensureDebianTool(command, pkg);
}
