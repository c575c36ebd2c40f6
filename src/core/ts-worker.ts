/**
 * Worker threads that run this package's TypeScript sources.
 *
 * A worker is started from a bundle of its entry module, made with esbuild (the compiler tsx
 * itself uses): our sources compiled and joined into one plain JavaScript file, npm packages
 * left as imports resolved from node_modules. Registering tsx in each worker instead costs about
 * 12 MiB before it loads anything and more as it compiles, per thread; the bundle costs a few
 * milliseconds once per process. Bundles are kept under node_modules/.cache/veritrail, named by
 * their content, so the packages they import resolve exactly as the main thread's do. The build
 * is synchronous (esbuild's buildSync), once per module per process, when its first worker starts.
 *
 * Where a bundle cannot be made (no esbuild, a read-only node_modules), the worker registers tsx
 * instead, as the main process does.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { buildBundleWith, saveBundle } from './bundle.js';

/** Bundle files by entry module, made once per process (undefined: none could be made). */
const bundles = new Map<string, string | undefined>();
const require = createRequire(import.meta.url);

function bundleOf(moduleUrl: string): string | undefined {
  try {
    const { buildSync } = require('esbuild') as typeof import('esbuild');
    const entry = fileURLToPath(moduleUrl);
    const code = buildBundleWith(buildSync, entry);
    return saveBundle(path.basename(entry, '.ts'), createHash('sha256').update(code).digest('hex').slice(0, 16), code);
  } catch {
    return undefined;
  }
}

/** Starts a worker on a TypeScript module: from its bundle, else through tsx. */
export function startTsWorker(moduleUrl: string, options: WorkerOptions = {}): Worker {
  if (!bundles.has(moduleUrl)) bundles.set(moduleUrl, bundleOf(moduleUrl));
  const bundle = bundles.get(moduleUrl);
  if (bundle) return new Worker(bundle, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
