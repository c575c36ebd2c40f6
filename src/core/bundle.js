// One way to turn this package's TypeScript into plain JavaScript: for the launcher
// (bin/veritrail.js) and for worker threads (src/core/ts-worker.ts). esbuild (the compiler tsx
// itself uses) compiles an entry module and our sources it imports, leaving npm packages as
// imports, and splits what is imported dynamically into chunks of its own, so a command loads
// only what it uses (`veritrail verify` never loads Fastify). The files are kept under
// node_modules/.cache/veritrail, in a directory per entry named by a fingerprint of the sources,
// so the packages they import resolve exactly as the main thread's do. Plain JavaScript,
// because the launcher runs it before anything can compile TypeScript.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where this package is installed: found by walking up to the package.json named veritrail, so
 * it holds both from the sources and from a bundle under node_modules/.cache (this module is
 * inlined into bundles), where a path relative to the running file would point into the cache.
 */
export const PACKAGE_ROOT = (() => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'veritrail') return dir;
    } catch {
      // no package.json here: keep climbing
    }
    if (path.dirname(dir) === dir) throw new Error("couldn't find Veritrail's package.json above its modules");
  }
})();

export const CACHE_DIR = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'veritrail');

/** @type {string | undefined} */
let fingerprint;

/**
 * A fingerprint of every source file (path, size, mtime) and of Node.js: cheap, and changes with
 * any edit. Taken once per process, whose workers all run the sources it started with.
 */
export function sourceFingerprint() {
  if (fingerprint) return fingerprint;
  const hash = createHash('sha256').update(process.version);
  const walk = (dir) => {
    for (const item of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, item.name);
      if (item.isDirectory()) walk(full);
      else if (/\.(ts|js)$/.test(item.name)) {
        const stat = fs.statSync(full);
        hash.update(`${path.relative(PACKAGE_ROOT, full)}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  walk(path.join(PACKAGE_ROOT, 'src'));
  return (fingerprint = hash.digest('hex').slice(0, 16));
}

/**
 * The bundle of `entry` (a .ts path from the package root) for today's sources: its entry file,
 * built on first use, synchronously (a worker's start cannot wait).
 * @param {string} name the bundle's name in the cache
 * @param {string} entry
 * @returns {string} the entry file
 */
export function bundleFor(name, entry) {
  const dir = path.join(CACHE_DIR, `${name}-${sourceFingerprint()}`);
  const main = path.join(dir, 'main.mjs');
  if (fs.existsSync(main)) return main;
  const { buildSync } = createRequire(import.meta.url)('esbuild');
  const result = buildSync({
    entryPoints: { main: path.join(PACKAGE_ROOT, entry) },
    bundle: true,
    splitting: true,
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  // Written to a directory of its own, then renamed into place: several processes may start at once.
  const temporary = `${dir}.${process.pid}.tmp`;
  fs.rmSync(temporary, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    const target = path.join(temporary, path.relative(dir, file.path));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.contents);
  }
  try {
    fs.renameSync(temporary, dir);
  } catch (error) {
    fs.rmSync(temporary, { recursive: true, force: true });
    if (!fs.existsSync(main)) throw error; // else another process put the same bundle in place
  }
  // Older bundles of this name are of sources that no longer exist.
  for (const old of fs.readdirSync(CACHE_DIR)) {
    if (old.startsWith(`${name}-`) && !old.endsWith('.tmp') && path.join(CACHE_DIR, old) !== dir) fs.rmSync(path.join(CACHE_DIR, old), { recursive: true, force: true });
  }
  return main;
}
