/**
 * Store engines for tests (STYLE.md §10): every engine suite runs over ENGINES, which
 * VERITRAIL_TEST_ENGINES can narrow (e.g. `VERITRAIL_TEST_ENGINES=sqlite`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { PgStore } from '../../src/store/postgres/postgres-store.ts';
import type { ProjectRecord, Store } from '../../src/store/store.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { postgresCluster } from './postgres.ts';

export type EngineName = 'sqlite' | 'postgres';
const ALL_ENGINES: EngineName[] = ['sqlite', 'postgres'];
export const ENGINES: EngineName[] = ALL_ENGINES.filter((e) => !process.env.VERITRAIL_TEST_ENGINES || process.env.VERITRAIL_TEST_ENGINES.split(',').includes(e));

export interface TestStore {
  store: Store;
  /** Closes and opens the same database again, as a restart would. */
  reopen(): Promise<Store>;
  /** Where the engine keeps its files (SQLite), for tests that reach into them. */
  dataDir: string;
  /** The database URL (PostgreSQL), for tests that open a second store on the same database. */
  url?: string;
  destroy(): Promise<void>;
}

export function tempDir(prefix = 'vt-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function initStore(engine: EngineName): Promise<TestStore> {
  switch (engine) {
    case 'sqlite': {
      const dataDir = tempDir();
      const handle: TestStore = {
        store: new SqliteStore({ dataDir }),
        dataDir,
        async reopen() {
          await handle.store.close();
          handle.store = new SqliteStore({ dataDir });
          return handle.store;
        },
        async destroy() {
          await handle.store.close();
          fs.rmSync(dataDir, { recursive: true, force: true });
        },
      };
      return handle;
    }
    case 'postgres': {
      // One throwaway cluster per test process (test/helpers/postgres.ts), one database per store.
      const cluster = await postgresCluster();
      const url = await cluster.createDatabase();
      const dataDir = tempDir();
      const handle: TestStore = {
        store: await PgStore.open({ url }),
        dataDir,
        url,
        async reopen() {
          await handle.store.close();
          handle.store = await PgStore.open({ url });
          return handle.store;
        },
        async destroy() {
          await handle.store.close();
          await cluster.dropDatabase(url);
          fs.rmSync(dataDir, { recursive: true, force: true });
        },
      };
      return handle;
    }
  }
}

let projectCounter = 0;
export function testProject(overrides: Partial<ProjectRecord> = {}): ProjectRecord {
  const id = (Date.now().toString(16) + (projectCounter++).toString(16).padStart(6, '0') + '0'.repeat(24)).slice(0, 24);
  return { id, name: `test ${id}`, createdAt: new Date().toISOString(), logOrigin: `test.example/v1/projects/${id}/log`, system: false, ...overrides };
}

/** Appends leaf hashes to a project's log through TreeEdge, as the sequencer does. */
export async function appendLeaves(store: Store, projectId: string, leafHashes: Buffer[], envelopes?: Buffer[]): Promise<void> {
  const size = await store.treeSize(projectId);
  const edge = TreeEdge.fromTiles(size, await store.readTiles(projectId, TreeEdge.tilesFor(size)));
  const { tiles } = edge.extend(leafHashes);
  await store.append([
    {
      projectId,
      fromSize: size,
      entries: leafHashes.map((_, i) => ({ eventId: `id-${size + i}`, envelope: envelopes?.[i] ?? Buffer.from(`{"n":${size + i}}`) })),
      tiles,
    },
  ]);
}
