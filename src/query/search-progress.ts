/**
 * The search index's progress as the thread answering searches knows it (SearchProgress), for
 * SearchIndexing.waitFor and lag() in search-indexer.ts, whether the indexing runs inline or in
 * the indexer thread.
 */
import type { Store } from '../store/store.ts';

interface Waiter {
  size: number;
  resolve(indexed: number): void;
}

/**
 * How far each log's search index is, as reported by whoever indexes, and the searches waiting
 * for it to reach a size. Lives on the thread that answers searches. Owned by its event loop.
 */
export class SearchProgress {
  private readonly known = new Map<string, { indexed: number; size: number }>();
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly store: Store) {}

  /** The log is known to have at least `size` entries. */
  noteSize(projectId: string, size: number): void {
    const known = this.known.get(projectId);
    if (known) known.size = Math.max(known.size, size);
  }

  /** The indexer reached `indexed` of a log of `size`; releases the waiters it satisfies. */
  record(projectId: string, indexed: number, size: number): void {
    this.known.set(projectId, { indexed, size: Math.max(size, this.known.get(projectId)?.size ?? 0) });
    const list = this.waiters.get(projectId);
    if (!list) return;
    const still = list.filter((waiter) => {
      if (indexed < waiter.size) return true;
      waiter.resolve(indexed);
      return false;
    });
    if (still.length > 0) this.waiters.set(projectId, still);
    else this.waiters.delete(projectId);
  }

  /**
   * SearchIndexing.waitFor; `wake` asks the indexer to work on the log (a search waiting is not
   * the log growing, so it passes no size to markDirty).
   */
  async waitFor(projectId: string, size: number, timeoutMs: number, stopped: boolean, wake: () => void): Promise<number> {
    const indexed = await this.store.searchIndexSize(projectId);
    if (indexed >= size || timeoutMs <= 0 || stopped) return indexed;
    this.noteSize(projectId, size);
    wake();
    return new Promise((resolve) => {
      const waiter: Waiter = { size, resolve };
      const list = this.waiters.get(projectId) ?? [];
      list.push(waiter);
      this.waiters.set(projectId, list);
      const timer = setTimeout(() => {
        this.dropWaiter(projectId, waiter);
        void this.store.searchIndexSize(projectId).then(resolve, () => resolve(0));
      }, timeoutMs);
      waiter.resolve = (n) => {
        clearTimeout(timer);
        resolve(n);
      };
    });
  }

  lag(): Map<string, number> {
    return new Map([...this.known].map(([projectId, { indexed, size }]) => [projectId, Math.max(0, size - indexed)]));
  }

  /** Releases every waiter with the size its log reached. */
  releaseAll(): void {
    for (const [projectId, list] of this.waiters) {
      const indexed = this.known.get(projectId)?.indexed ?? 0;
      for (const waiter of list) waiter.resolve(indexed);
    }
    this.waiters.clear();
  }

  private dropWaiter(projectId: string, waiter: Waiter): void {
    const list = this.waiters.get(projectId)?.filter((w) => w !== waiter);
    if (list && list.length > 0) this.waiters.set(projectId, list);
    else this.waiters.delete(projectId);
  }
}
