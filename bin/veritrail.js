#!/usr/bin/env -S node --max-semi-space-size=4
// The package runs its TypeScript sources with no build step (DESIGN.md). This launcher runs
// them from an esbuild bundle of the CLI made on first start, and again whenever a source file
// changes (src/core/bundle.js). Compared with compiling each file through tsx at every
// start, it starts faster and saves tsx's ~30 MiB of resident memory, which counts against the
// server's budget. If a bundle cannot be made (or VERITRAIL_NO_BUNDLE=1), tsx runs the sources.
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

// Memory: V8's young generation defaults to 16 MiB semi-spaces per isolate, three of them, and
// under sustained ingest every thread fills them (peak RSS 388 MiB; with 4 MiB, 290 MiB, at
// the same throughput within noise). The main isolate takes the flag from the command line
// (the shebang above, and `npm start`); worker isolates are made later and take it from here.
v8.setFlagsFromString('--max-semi-space-size=4');

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
