/**
 * A package loaded on first use rather than at start-up. For heavy libraries most processes
 * never need (the MongoDB query engine loads in ~280 ms and holds ~14 MiB per isolate, and only
 * runs once a project has a filter or a search passes one). Synchronous, so callers stay so.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
