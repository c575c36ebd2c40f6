/**
 * The one place that picks a store engine: PostgreSQL for a `postgres://` URL, else SQLite in
 * the data directory. The node, `veritrail fsck` and `veritrail keys` all open stores here.
 */
import { isPostgresUrl } from './postgres/postgres-config.ts';
import { PgStore } from './postgres/postgres-store.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

export interface StoreLocation {
  /** A PostgreSQL URL; when absent, the SQLite store in `dataDir`. */
  storeUrl?: string;
  dataDir: string;
  /** Read without migrating or locking (fsck beside running nodes). */
  readOnly?: boolean;
  /**
   * A second handle for the search indexer's thread, beside the node's own: on SQLite the
   * search file's only writer (the main file read-only), on PostgreSQL a small pool of its own.
   */
  searchWriter?: boolean;
}

export async function openStore(location: StoreLocation): Promise<Store> {
  if (location.storeUrl !== undefined) {
    if (!isPostgresUrl(location.storeUrl)) throw new Error('the store URL must start with postgres:// or postgresql://; leave it out to use SQLite in --data');
    // Two connections for the indexer: one indexing transaction at a time, and a read beside it.
    return PgStore.open({ url: location.storeUrl, readOnly: location.readOnly, ...(location.searchWriter ? { poolSize: 2 } : {}) });
  }
  return new SqliteStore({ dataDir: location.dataDir, readOnly: location.readOnly, searchWriter: location.searchWriter });
}
