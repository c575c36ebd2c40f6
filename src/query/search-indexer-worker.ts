/**
 * The body of the search indexer thread (search-indexer-thread.ts): a SearchIndexer over a store
 * of its own, reporting progress to the server's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PgStore } from '../store/postgres/postgres-store.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Store } from '../store/store.ts';
import { SearchIndexer } from './search-indexer.ts';

/** Where the indexer thread finds the store: an engine it can open a second handle to. */
export type SearchStoreSpec = { engine: 'sqlite'; dataDir: string } | { engine: 'postgres'; url: string };

export interface SearchIndexerWorkerData {
  store: SearchStoreSpec;
  chunk?: number;
}

export type ToSearchWorker = { type: 'dirty'; projectId: string; size?: number } | { type: 'stop' };
export type FromSearchWorker =
  | { type: 'progress'; projectId: string; indexed: number; size: number }
  | { type: 'error'; projectId: string; message: string }
  | { type: 'stopped' };

async function openStore(spec: SearchStoreSpec): Promise<Store> {
  switch (spec.engine) {
    case 'sqlite':
      return new SqliteStore({ dataDir: spec.dataDir, searchWriter: true });
    case 'postgres':
      // Two connections: one indexing transaction at a time, and a read beside it.
      return PgStore.open({ url: spec.url, poolSize: 2 });
  }
}

const data = workerData as SearchIndexerWorkerData;
const post = (message: FromSearchWorker) => parentPort!.postMessage(message);
// Messages that arrive meanwhile wait on the port until the listener below is added.
const store = await openStore(data.store);
const indexer = new SearchIndexer(store, {
  ...(data.chunk !== undefined ? { chunk: data.chunk } : {}),
  onProgress: (projectId, indexed, size) => post({ type: 'progress', projectId, indexed, size }),
  onError: (projectId, error) => post({ type: 'error', projectId, message: (error as Error)?.message ?? String(error) }),
});

parentPort!.on('message', (message: ToSearchWorker) => {
  if (message.type === 'dirty') indexer.markDirty(message.projectId, message.size);
  else
    void (async () => {
      await indexer.stop();
      await store.close();
      post({ type: 'stopped' });
    })();
});
