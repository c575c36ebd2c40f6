/**
 * Search indexing in a thread of its own. Deriving each event's fields and writing its B-tree
 * and FTS5 rows costs about as much CPU as ingesting it; done on the server's event loop it
 * took a third of the time of batched ingest (bench --profile). In a worker thread, over its own
 * store handle and its own file (the SQLite engine's `searchWriter`), it runs on another core
 * beside the sequencer and never holds up a request. Progress comes back as messages, so
 * searches on this thread still wait for their own writes (SearchProgress).
 */
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../core/ts-worker.ts';
import type { Store } from '../store/store.ts';
import type { SearchIndexerOptions, SearchIndexing } from './search-indexer.ts';
import { SearchProgress } from './search-progress.ts';
import type { FromSearchWorker, SearchIndexerWorkerData, ToSearchWorker } from './search-indexer-worker.ts';
import type { SearchPacingConfig } from './search-pacing.ts';

/** After the thread dies unexpectedly, how long before a new one starts. */
const RESTART_MS = 1000;

export class SearchIndexerThread implements SearchIndexing {
  private readonly progress: SearchProgress;
  private worker: Worker;
  /** Resolves when `worker` has exited, even if that was before anyone asked. */
  private exited!: Promise<void>;
  /** Logs marked dirty, so a restarted thread picks them all up. Owned by the event loop. */
  private readonly logs = new Set<string>();
  private stopping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    store: Store,
    private readonly spec: SearchIndexerWorkerData['store'],
    /** `pacing` as plain data: it crosses to the thread. */
    private readonly options: Pick<SearchIndexerOptions, 'onError' | 'onRest'> & { pacing?: SearchPacingConfig } = {},
  ) {
    this.progress = new SearchProgress(store);
    this.worker = this.start();
  }

  private start(): Worker {
    const data: SearchIndexerWorkerData = { store: this.spec, pacing: this.options.pacing };
    const worker = startTsWorker('src/query/search-indexer-worker.ts', { workerData: data });
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromSearchWorker) => {
      if (message.type === 'progress') this.progress.record(message.projectId, message.indexed, message.size);
      else if (message.type === 'error') this.options.onError?.(message.projectId, new Error(message.message));
      else if (message.type === 'rested') this.options.onRest?.(message.ms);
    });
    worker.on('error', (error) => this.options.onError?.('(indexer thread)', error));
    worker.on('exit', () => {
      if (this.stopped) return;
      // The thread died (a bug, or its store failed to open): start another, which carries on
      // from each log's search index size.
      const timer = setTimeout(() => {
        if (this.stopped) return;
        this.worker = this.start();
        for (const projectId of this.logs) this.send({ type: 'dirty', projectId });
      }, RESTART_MS);
      timer.unref();
    });
    return worker;
  }

  private send(message: ToSearchWorker): void {
    this.worker.postMessage(message);
  }

  markDirty(projectId: string, treeSize?: number, backlog?: boolean): void {
    if (this.stopped) return;
    this.logs.add(projectId);
    if (treeSize !== undefined) this.progress.noteSize(projectId, treeSize);
    this.send({ type: 'dirty', projectId, treeSize, backlog });
  }

  waitFor(projectId: string, size: number, timeoutMs: number): Promise<number> {
    return this.progress.waitFor(projectId, size, timeoutMs, this.stopped, () => this.markDirty(projectId));
  }

  lag(): Map<string, number> {
    return this.progress.lag();
  }

  /** Lets the thread finish its chunk and close its store, then ends it. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      const worker = this.worker;
      // The thread may have died already (its store failed) and be waiting for its restart,
      // which `stopped` now prevents: its exit is then long past, and must not be waited for.
      const done = Promise.race([new Promise<void>((resolve) => worker.on('message', (message: FromSearchWorker) => message.type === 'stopped' && resolve())), this.exited]);
      worker.ref();
      worker.postMessage({ type: 'stop' } satisfies ToSearchWorker);
      await done;
      await worker.terminate();
      this.progress.releaseAll();
    })();
    return this.stopping;
  }
}
