/**
 * The body of the search indexer thread (search-indexer-thread.ts): a SearchIndexer over a store
 * of its own, reporting progress to the server's thread.
 *
 * The thread runs at a lower CPU priority than the threads that accept events. When the machine
 * is saturated, accepting and sequencing events comes first, and the search index, which follows
 * the log anyway, falls further behind and catches up once the load drops; it is slowed, never
 * stopped (a niced thread still gets a share of a busy core). On PostgreSQL its writes run in a
 * database backend, which is not niced; for that, the indexer rests between chunks while ingest
 * has a backlog (search-pacing.ts). Measured on two cores, batches of 100, two alternating pairs
 * each: on PostgreSQL, one node, 15,500 events/s acknowledged before and 16,400-17,600 with this;
 * on SQLite, 19,200-20,000 before and 22,300-24,300 with it, while the rate counted until every
 * event was searchable fell from 12,500 to 11,500-11,800 (the index is more behind when a burst
 * ends, and takes longer to catch up). Events accepted come first; search freshness under
 * saturation is what it costs.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openStore, type StoreLocation } from '../store/open-store.ts';
import { SearchIndexer } from './search-indexer.ts';
import type { SearchPacingConfig } from './search-pacing.ts';

export interface SearchIndexerWorkerData {
  /** Where the node's store is; the thread opens a handle of its own there. */
  store: Pick<StoreLocation, 'storeUrl' | 'dataDir'>;
  /** How the indexer yields to ingest (default: the engine's). */
  pacing?: SearchPacingConfig;
}

/** `dirty` with a treeSize: the log grew to it; with backlog, a commit said so (search-indexer.ts markDirty). */
export type ToSearchWorker = { type: 'dirty'; projectId: string; treeSize?: number; backlog?: boolean } | { type: 'stop' };
export type FromSearchWorker =
  | { type: 'progress'; projectId: string; indexed: number; size: number }
  | { type: 'error'; projectId: string; message: string }
  | { type: 'rested'; ms: number }
  | { type: 'stopped' };

/** The search thread's nice value (Linux: 0 is the default, 19 the lowest priority). */
const SEARCH_THREAD_NICE = 10;

/**
 * Lowers this thread's priority, where the system names threads (Linux: /proc/thread-self, and
 * setpriority on a thread id affects that thread alone). Elsewhere the thread keeps the process's.
 */
function lowerThisThreadsPriority(): void {
  try {
    // "<pid>/task/<tid>"; a /proc of another PID namespace names some other process's thread.
    const [pid, , tid] = fs.readlinkSync('/proc/thread-self').split('/').map(Number);
    if (pid !== process.pid || !tid) return;
    os.setPriority(tid, Math.max(os.getPriority(tid), SEARCH_THREAD_NICE));
  } catch {
    // No /proc, or not allowed: indexing runs at the process's priority, as it would elsewhere.
  }
}

lowerThisThreadsPriority();
const data = workerData as SearchIndexerWorkerData;
const post = (message: FromSearchWorker) => parentPort!.postMessage(message);
// Messages that arrive meanwhile wait on the port until the listener below is added.
const store = await openStore({ ...data.store, searchWriter: true });
const indexer = new SearchIndexer(store, {
  onProgress: (projectId, indexed, size) => post({ type: 'progress', projectId, indexed, size }),
  onError: (projectId, error) => post({ type: 'error', projectId, message: (error as Error)?.message ?? String(error) }),
  onRest: (ms) => post({ type: 'rested', ms }),
  pacing: data.pacing,
});

parentPort!.on('message', (message: ToSearchWorker) => {
  if (message.type === 'dirty') indexer.markDirty(message.projectId, message.treeSize, message.backlog);
  else
    void (async () => {
      await indexer.stop();
      await store.close();
      post({ type: 'stopped' });
    })();
});
