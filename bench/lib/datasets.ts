/**
 * Large logs for the read benchmarks, written straight into a SQLite store (no HTTP, no
 * per-request work): entries and TreeEdge-computed tiles in big appends through
 * SqliteStore.append, one checkpoint signed with the directory's checkpoint key, then an
 * ORG_OWNER key. A server started on the directory has nothing left to sign.
 *
 * Datasets are cached under bench/results/datasets/<kind>-<size>/ (gitignored) and reused by
 * later runs while their kind's version (DATASET_VERSIONS) and the size match; delete the
 * directory to rebuild.
 */
import fs from 'node:fs';
import path from 'node:path';
import { newApiKey } from '../../src/auth/api-keys.ts';
import { formatCheckpoint } from '../../src/log/checkpoint.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { loadOrCreateSigner, logOrigin } from '../../src/log/log-key.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { signNote } from '../../src/log/signed-note.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { EntryToAppend } from '../../src/store/store.ts';
import type { BenchContext } from './context.ts';
import { EventSource, preparedEvents, withId } from './events.ts';
import { ORIGIN_HOST } from './server.ts';

/**
 * Bump a kind's version when the way its datasets are built changes, so cached ones are rebuilt.
 * Tree datasets 2: full tiles stored with their summaries (src/log/tile-summary.ts), which the
 * proofs read. Event datasets serve search and verify, which never read summaries; they stay at
 * 1 rather than rebuild 10M events (about 40 minutes).
 */
const DATASET_VERSIONS: Record<Dataset['kind'], number> = { tree: 2, events: 1 };
const PROJECT_ID = 'be0c4000000000000000da7a';
const APPEND_CHUNK = 65_536;
const RECEIVED_AT = '2026-03-01T00:00:00.000Z';

export interface Dataset {
  kind: 'tree' | 'events';
  size: number;
  dir: string;
  projectId: string;
  /** An ORG_OWNER key of the store. */
  orgKey: string;
  /** The checkpoint verifier key (C2SP vkey). */
  vkey: string;
  /** Seconds it took to build (on the run that built it). */
  buildSeconds: number;
  cached: boolean;
}

type Entry = EntryToAppend & { leafHash: Buffer };

/**
 * A log of `size` minimal envelopes (~110 bytes), for proofs: proofs read only tiles, so the
 * payload size does not matter, and small ones keep 10M entries to about 2 GB.
 */
export function treeDataset(ctx: BenchContext, size: number): Promise<Dataset> {
  return dataset(ctx, 'tree', size, (start, count) =>
    Array.from({ length: count }, (_, i) => {
      const n = start + i;
      const envelope = Buffer.from(`{"event":{"n":${n}},"eventId":"t${n}","projectId":"${PROJECT_ID}","receivedAt":"${RECEIVED_AT}"}`);
      return { eventId: `t${n}`, envelope, leafHash: leafHash(envelope) };
    }),
  );
}

/** A log of `size` generated CloudTrail-style events (~1 KiB), built as ingest builds them. */
export function eventDataset(ctx: BenchContext, size: number): Promise<Dataset> {
  const source = new EventSource(0xda7a);
  return dataset(ctx, 'events', size, (start, count) => {
    const events = Array.from({ length: count }, (_, i) => withId(source.next(), 0xfff, start + i));
    return preparedEvents(PROJECT_ID, events, RECEIVED_AT);
  });
}

async function dataset(ctx: BenchContext, kind: Dataset['kind'], size: number, entries: (start: number, count: number) => Entry[]): Promise<Dataset> {
  const dir = path.join(ctx.datasetsDir, `${kind}-${size}`);
  const marker = path.join(dir, 'dataset.json');
  if (fs.existsSync(marker)) {
    const cached = JSON.parse(fs.readFileSync(marker, 'utf8')) as Dataset & { version: number };
    if (cached.version === DATASET_VERSIONS[kind] && cached.size === size && cached.kind === kind) {
      ctx.log(`using cached dataset ${path.relative(process.cwd(), dir)} (built in ${cached.buildSeconds.toFixed(0)} s)`);
      // Brought to the current schema, as a server's start would, for scenarios that read it in process.
      await new SqliteStore({ dataDir: dir }).close();
      return { ...cached, dir, cached: true };
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  ctx.log(`building dataset ${kind}-${size} in ${path.relative(process.cwd(), dir)} (cached for later runs)`);
  const started = performance.now();
  // A large index cache: the event-id index takes one random insert per entry.
  const store = new SqliteStore({ dataDir: dir, indexCacheKiB: 1024 * 1024 });
  try {
    const signer = loadOrCreateSigner(dir, ORIGIN_HOST);
    await store.createProject({ id: PROJECT_ID, name: `bench ${kind} ${size}`, createdAt: RECEIVED_AT, logOrigin: logOrigin(ORIGIN_HOST, PROJECT_ID), system: false });
    let edge = TreeEdge.empty();
    for (let start = 0; start < size; start += APPEND_CHUNK) {
      const chunk = entries(start, Math.min(APPEND_CHUNK, size - start));
      const next = edge.extend(chunk.map((e) => e.leafHash));
      await store.append([{ projectId: PROJECT_ID, fromSize: start, entries: chunk.map(({ eventId, envelope }) => ({ eventId, envelope })), tiles: next.tiles }]);
      edge = next.edge;
      if ((start / APPEND_CHUNK) % 16 === 15) ctx.log(`  ${start + chunk.length} of ${size} entries (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
    // Signed from the edge's root, as the Checkpointer would after re-reading every entry (which
    // costs minutes at 10M). The server's start-up check folds the stored tiles to this root,
    // proofs.ts verifies sampled proofs against it, and verify.ts re-hashes every exported entry.
    const root = edge.root();
    const note = signNote(formatCheckpoint({ origin: logOrigin(ORIGIN_HOST, PROJECT_ID), size, root }), signer);
    await store.putCheckpoint({ projectId: PROJECT_ID, treeSize: size, rootHash: root, note, createdAt: RECEIVED_AT });
    const { record, secret } = newApiKey('ORG_OWNER', null, 'bench datasets', Date.now());
    await store.createKey(record);
    await store.close();
    const built: Dataset = { kind, size, dir, projectId: PROJECT_ID, orgKey: secret, vkey: signer.text, buildSeconds: (performance.now() - started) / 1000, cached: false };
    fs.writeFileSync(marker, JSON.stringify({ version: DATASET_VERSIONS[kind], ...built }, null, 2) + '\n');
    ctx.log(`built ${kind}-${size} in ${built.buildSeconds.toFixed(0)} s (${(directoryBytes(dir) / 2 ** 30).toFixed(2)} GiB on disk)`);
    return built;
  } catch (error) {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export function directoryBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);
}
