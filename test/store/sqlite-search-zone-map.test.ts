/**
 * Full-text pages on SQLite are read newest-by-index first and proven with the zone map
 * (sqlite-search.ts). Whatever the order of event times, every page must be exactly the page a
 * plain sort by (time, index) gives: checked against a naive in-memory search over a log that
 * spans several zone-map blocks, with times in order, then with stragglers planted far back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { SEARCH_BLOCK_ENTRIES, type SqliteSearch } from '../../src/store/sqlite/sqlite-search.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import type { SearchDocument, SearchQuery } from '../../src/store/store.ts';
import { tempDir } from '../helpers/stores.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';

const SIZE = SEARCH_BLOCK_ENTRIES * 2 + 1500;
const T0 = Date.UTC(2026, 0, 1);

function documents(straggle: (i: number) => number | undefined): SearchDocument[] {
  return Array.from({ length: SIZE }, (_, i) => ({
    index: i,
    time: straggle(i) ?? T0 + i * 1000,
    eventName: null,
    eventSource: null,
    sourceIp: null,
    actors: [],
    outcome: null,
    // "common" in every third entry, "rare" in every 997th.
    text: `${i % 3 === 0 ? 'common ' : ''}${i % 997 === 0 ? 'rare ' : ''}n${i}`,
  }));
}

describe('sqlite: full-text pages proven with the zone map', () => {
  for (const [name, straggle, inOrder] of [
    ['times in index order', () => undefined, true],
    // Each straggler matches a term searched below: 6 and 4101 hold 'common', 1994 'rare', SIZE - 5 'common'.
    ['stragglers: old entries with the latest times, and a new one with the earliest', (i: number) => (i === 6 || i === 1994 || i === 4101 ? T0 + SIZE * 1000 + i : i === SIZE - 5 ? T0 - 1 : undefined), false],
  ] as const) {
    describe(name, () => {
      let dataDir: string;
      let store: SqliteStore;
      const projectId = '0123456789abcdef01234567';
      const docs = documents(straggle);
      before(async () => {
        dataDir = tempDir();
        store = new SqliteStore({ dataDir });
        await store.createProject({ id: projectId, name: 'zones', createdAt: new Date(T0).toISOString(), logOrigin: 'x/zones', system: false });
        const entries = docs.map((d) => {
          const envelope = Buffer.from(envelopeText(`{"n":${d.index}}`, `e${d.index}`, projectId, new Date(T0).toISOString()));
          return { eventId: `e${d.index}`, envelope, leaf: leafHash(envelope) };
        });
        const { tiles } = TreeEdge.empty().extend(entries.map((e) => e.leaf));
        await store.append([{ projectId, fromSize: 0, entries: entries.map(({ eventId, envelope }) => ({ eventId, envelope })), tiles }]);
        for (let from = 0; from < SIZE; from += 700) assert.equal(await store.indexForSearch(projectId, from, docs.slice(from, from + 700)), true);
      });
      after(async () => {
        await store.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      });

      /** Every page of a search, read through its cursors, as indexes. */
      async function pages(query: Omit<SearchQuery, 'below'>): Promise<number[][]> {
        const out: number[][] = [];
        let after: SearchQuery['after'];
        for (;;) {
          const hits = await store.searchEntries(projectId, { ...query, below: SIZE, ...(after ? { after } : {}) });
          if (hits.length === 0) return out;
          out.push(hits.map((h) => h.index));
          const last = hits[hits.length - 1]!;
          after = { time: last.time, index: last.index };
        }
      }

      function naive(query: Omit<SearchQuery, 'below'>): number[][] {
        const sign = query.order === 'desc' ? -1 : 1;
        const words = (query.terms ?? []).map((t) => t.toLowerCase());
        const hits = docs
          .filter((d) => words.every((w) => d.text.split(' ').includes(w)))
          .filter((d) => (query.fromTime === undefined || d.time >= query.fromTime) && (query.toTime === undefined || d.time < query.toTime))
          .sort((a, b) => sign * (a.time - b.time || a.index - b.index))
          .map((d) => d.index);
        const out: number[][] = [];
        for (let i = 0; i < hits.length; i += query.limit) out.push(hits.slice(i, i + query.limit));
        return out;
      }

      for (const terms of [['common'], ['rare'], ['n5'], ['common', 'rare']]) {
        for (const order of ['desc', 'asc'] as const) {
          for (const limit of [1, 7, 100, 1000]) {
            it(`q=${terms.join('+')} ${order} limit ${limit}`, async () => {
              const query = { terms, order, limit };
              assert.deepEqual(await pages(query), naive(query));
            });
          }
          it(`q=${terms.join('+')} ${order} within a time range`, async () => {
            const query = { terms, order, limit: 50, fromTime: T0 + 2000 * 1000, toTime: T0 + 6000 * 1000 };
            assert.deepEqual(await pages(query), naive(query));
          });
        }
      }

      it(inOrder ? 'proves every page with the zone map (no page read the slow way)' : 'reads the pages near the stragglers the slow way', () => {
        const sorts = (store as unknown as { searchIndex: SqliteSearch }).searchIndex.fullTextSorts;
        if (inOrder) assert.equal(sorts, 0);
        else assert.ok(sorts > 0);
      });
    });
  }
});
