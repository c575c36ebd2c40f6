/** Configuration of the SQLite engine. */
import path from 'node:path';

/** File name of the main (durable) database inside the data directory. */
export const SQLITE_MAIN_FILE = 'veritrail.db';
/** File name of the derived event-id index inside the data directory (written by the sequencer). */
export const SQLITE_INDEX_FILE = 'veritrail-index.db';
/** File name of the derived search index inside the data directory (written by the search indexer). */
export const SQLITE_SEARCH_FILE = 'veritrail-search.db';
/**
 * SQLite page cache of each derived file's writer: the event-id index's random inserts, and the
 * search indexer's B-tree and FTS5 writes, want their hot pages in memory. Bounded, because the
 * server's resident memory is (at most 256 MB under any load).
 */
export const DEFAULT_SQLITE_INDEX_CACHE_KIB = 16 * 1024;
/** Page cache of the server's own handle on the search file, which only reads it for searches. */
export const SQLITE_SEARCH_READ_CACHE_KIB = 4 * 1024;

export interface SqliteConfig {
  /** The data directory (created if missing). Example: `./data`. */
  dataDir: string;
  /**
   * Open for reading only, without the data-directory lock (for `veritrail fsck` and tests
   * next to a running server). Default false.
   */
  readOnly?: boolean;
  /**
   * Open as the search indexer's store, in its own thread beside the server: the main file
   * read-only, the search file for writing, no event-id index and no lock (the server holds it).
   * Only `treeSize`, `readEntries`, `searchIndexSize`, `indexForSearch` and `close` are for it.
   * Default false.
   */
  searchWriter?: boolean;
  /**
   * Page cache of a derived file's writer, in KiB: the index file's (the server), or the search
   * file's (the search indexer's `searchWriter` store). Default DEFAULT_SQLITE_INDEX_CACHE_KIB.
   */
  indexCacheKiB?: number;
}

export function sqlitePaths(config: SqliteConfig): { main: string; index: string; search: string } {
  return {
    main: path.join(config.dataDir, SQLITE_MAIN_FILE),
    index: path.join(config.dataDir, SQLITE_INDEX_FILE),
    search: path.join(config.dataDir, SQLITE_SEARCH_FILE),
  };
}
