#!/usr/bin/env node
// The package runs its TypeScript sources with no build step (DESIGN.md). This launcher runs
// them from an esbuild bundle of the CLI made on first start, and again whenever a source file
// changes: one plain JavaScript file under node_modules/.cache/veritrail (npm packages stay
// imports, resolved from node_modules). Compared with compiling each file through tsx at every
// start, it starts faster and saves tsx's ~30 MiB of resident memory, which counts against the
// server's budget. If a bundle cannot be made (or VERITRAIL_NO_BUNDLE=1), tsx runs the sources.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src', 'cli', 'main.ts');

/** A fingerprint of every source file (.ts, .js) (path, size, mtime): cheap, and changes with any edit. */
function fingerprint() {
  const hash = createHash('sha256').update(process.version);
  const walk = (dir) => {
    for (const item of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, item.name);
      if (item.isDirectory()) walk(full);
      else if (/\.(ts|js)$/.test(item.name)) {
        const stat = fs.statSync(full);
        hash.update(`${path.relative(root, full)}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  walk(path.join(root, 'src'));
  return hash.digest('hex').slice(0, 16);
}

async function bundle() {
  const { bundlePath, buildBundle, saveBundle } = await import('../src/core/bundle.js');
  const tag = fingerprint();
  const file = bundlePath('cli', tag);
  if (fs.existsSync(file)) return file;
  return saveBundle('cli', tag, await buildBundle(entry));
}

let bundled;
if (process.env.VERITRAIL_NO_BUNDLE !== '1') {
  try {
    bundled = await bundle();
  } catch {
    bundled = undefined;
  }
}
if (bundled) {
  await import(pathToFileURL(bundled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
