/**
 * Worker threads that run this package's TypeScript sources.
 *
 * A worker is started from a bundle of its entry module (core/bundle.js: esbuild, the compiler
 * tsx itself uses, with npm packages left as imports resolved from node_modules). Registering
 * tsx in each worker instead costs about 12 MiB before it loads anything and more as it
 * compiles, per thread. A bundle is built when its first worker starts after a source changed
 * (synchronously, esbuild's buildSync), and found in the cache by every later process.
 *
 * Where a bundle cannot be made (no esbuild, a read-only node_modules), the worker registers tsx
 * instead, as the main process does.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { bundleFor, PACKAGE_ROOT } from './bundle.js';

/** Bundle files by entry module, made once per process (undefined: none could be made). */
const bundles = new Map<string, string | undefined>();

function bundleOf(entry: string): string | undefined {
  try {
    return bundleFor(path.basename(entry, '.ts'), entry);
  } catch {
    return undefined;
  }
}

/**
 * Starts a worker on a TypeScript module, given its path from the package root (`src/...ts`):
 * from its bundle, else through tsx.
 */
export function startTsWorker(entry: string, options: WorkerOptions = {}): Worker {
  if (!bundles.has(entry)) bundles.set(entry, bundleOf(entry));
  const bundle = bundles.get(entry);
  if (bundle) return new Worker(bundle, options);
  const moduleUrl = pathToFileURL(path.join(PACKAGE_ROOT, entry)).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
