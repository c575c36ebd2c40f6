/**
 * The body of the search indexer thread (search-indexer-thread.ts): a SearchIndexer over a store
 * of its own, reporting progress to the server's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type StoreLocation } from '../store/open-store.ts';
import { SearchIndexer } from './search-indexer.ts';

export interface SearchIndexerWorkerData {
  /** Where the node's store is; the thread opens a handle of its own there. */
  store: Pick<StoreLocation, 'storeUrl' | 'dataDir'>;
}

export type ToSearchWorker = { type: 'dirty'; projectId: string } | { type: 'stop' };
export type FromSearchWorker =
  | { type: 'progress'; projectId: string; indexed: number; size: number }
  | { type: 'error'; projectId: string; message: string }
  | { type: 'stopped' };

const data = workerData as SearchIndexerWorkerData;
const post = (message: FromSearchWorker) => parentPort!.postMessage(message);
// Messages that arrive meanwhile wait on the port until the listener below is added.
const store = await openStore({ ...data.store, searchWriter: true });
const indexer = new SearchIndexer(store, {
  onProgress: (projectId, indexed, size) => post({ type: 'progress', projectId, indexed, size }),
  onError: (projectId, error) => post({ type: 'error', projectId, message: (error as Error)?.message ?? String(error) }),
});

parentPort!.on('message', (message: ToSearchWorker) => {
  if (message.type === 'dirty') indexer.markDirty(message.projectId);
  else
    void (async () => {
      await indexer.stop();
      await store.close();
      post({ type: 'stopped' });
    })();
});
