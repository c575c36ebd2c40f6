#!/usr/bin/env node
// The package runs its TypeScript sources with no build step (DESIGN.md). This launcher runs
// them from an esbuild bundle of the CLI made on first start, and again whenever a source file
// changes (src/core/bundle.js). Compared with compiling each file through tsx at every
// start, it starts faster and saves tsx's ~30 MiB of resident memory, which counts against the
// server's budget. If a bundle cannot be made (or VERITRAIL_NO_BUNDLE=1), tsx runs the sources.
import { pathToFileURL } from 'node:url';

async function bundle() {
  const { bundleFor } = await import('../src/core/bundle.js');
  return bundleFor('cli', 'src/cli/main.ts');
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
