/** Configuration of the SQLite engine. */
import path from 'node:path';

/** File name of the main (durable) database inside the data directory. */
export const SQLITE_MAIN_FILE = 'veritrail.db';
/** File name of the derived event-id index inside the data directory (written by the sequencer). */
export const SQLITE_INDEX_FILE = 'veritrail-index.db';
/** File name of the derived search index inside the data directory (written by the search indexer). */
export const SQLITE_SEARCH_FILE = 'veritrail-search.db';
/** SQLite page cache of the index file; its random inserts want their B-tree in memory. */
export const DEFAULT_SQLITE_INDEX_CACHE_KIB = 32 * 1024;

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
  /** Page cache of the index file, in KiB. Default DEFAULT_SQLITE_INDEX_CACHE_KIB. */
  indexCacheKiB?: number;
}

export function sqlitePaths(config: SqliteConfig): { main: string; index: string; search: string } {
  return {
    main: path.join(config.dataDir, SQLITE_MAIN_FILE),
    index: path.join(config.dataDir, SQLITE_INDEX_FILE),
    search: path.join(config.dataDir, SQLITE_SEARCH_FILE),
  };
}
