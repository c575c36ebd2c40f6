// One way to turn this package's TypeScript into a plain JavaScript file: for the launcher
// (bin/veritrail.js) and for worker threads (src/core/ts-worker.ts). esbuild (the compiler tsx
// itself uses) joins our sources into one ESM file, leaving npm packages as imports; the file
// is kept under node_modules/.cache/veritrail so those imports resolve exactly as the main
// thread's do. Plain JavaScript, because the launcher runs before anything can compile TypeScript.
import fs from 'node:fs';
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

/**
 * Bundles `entry` (synchronously) and returns its code.
 * @param {string} entry absolute path of a .ts module
 * @returns {Promise<Uint8Array>}
 */
export async function buildBundle(entry) {
  const { buildSync } = await import('esbuild');
  return buildBundleWith(buildSync, entry);
}

/**
 * The same, given esbuild's buildSync, for callers that cannot wait (a worker starts synchronously).
 * @param {typeof import('esbuild').buildSync} buildSync
 * @param {string} entry
 * @returns {Uint8Array}
 */
export function buildBundleWith(buildSync, entry) {
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return result.outputFiles[0].contents;
}

/**
 * The cache file for bundle `name` at version `tag`.
 * @param {string} name
 * @param {string} tag
 */
export function bundlePath(name, tag) {
  return path.join(CACHE_DIR, `${name}-${tag}.mjs`);
}

/**
 * Writes a bundle atomically (several processes may start at once) and removes older bundles
 * of the same name: they are of sources that no longer exist.
 * @param {string} name
 * @param {string} tag
 * @param {Uint8Array} code
 * @returns {string} the file
 */
export function saveBundle(name, tag, code) {
  const file = bundlePath(name, tag);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, code);
  fs.renameSync(temporary, file);
  for (const old of fs.readdirSync(CACHE_DIR)) {
    if (old.startsWith(`${name}-`) && old.endsWith('.mjs') && path.join(CACHE_DIR, old) !== file) fs.rmSync(path.join(CACHE_DIR, old), { force: true });
  }
  return file;
}
