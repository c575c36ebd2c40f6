/**
 * Search latency on a large log: writes N CloudTrail-like events (default 1,000,000) straight
 * into a SQLite store, indexes them, and times one page of typical searches through the query
 * layer (no HTTP).
 *
 *   node --import tsx scripts/search-scale.ts [events]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { canonicalize } from '../src/core/canonical-json.ts';
import { envelopeText } from '../src/core/envelope.ts';
import { searchDocument } from '../src/query/search-document.ts';
import { SearchIndexer } from '../src/query/search-indexer.ts';
import { searchEvents, type SearchParams } from '../src/query/search.ts';

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const PROJECT = 'abcdefabcdefabcdefabcdef';
const START = Date.UTC(2026, 0, 1);
const names = ['GetObject', 'PutObject', 'CreateUser', 'RunInstances', 'DeleteBucket', 'AssumeRole', 'ListBuckets', 'ConsoleLogin'];

function event(i: number) {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::123456789012:user/user${i % 500}`, userName: `user${i % 500}` },
    eventTime: new Date(START + i * 1000).toISOString(),
    eventSource: ['s3.amazonaws.com', 'iam.amazonaws.com', 'ec2.amazonaws.com', 'sts.amazonaws.com'][i % 4],
    eventName: names[i % names.length],
    sourceIPAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    requestParameters: { bucketName: `bucket-${i % 97}`, key: `reports/${i}/summary.csv` },
    eventID: `ev-${i}`,
    ...(i % 50 === 0 ? { errorCode: 'AccessDenied', errorMessage: `User user${i % 500} is not authorized` } : {}),
  };
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-scale-'));
const store = new SqliteStore({ dataDir });
try {
  await store.createProject({ id: PROJECT, name: 'scale', createdAt: new Date().toISOString(), logOrigin: 'scale.test/log', system: false });
  let started = performance.now();
  for (let from = 0; from < TOTAL; from += 10_000) {
    const entries = Array.from({ length: Math.min(10_000, TOTAL - from) }, (_, j) => {
      const i = from + j;
      return { eventId: `ev-${i}`, envelope: Buffer.from(envelopeText(canonicalize(event(i)), `ev-${i}`, PROJECT, new Date(START + i * 1000).toISOString())) };
    });
    // Tiles are left out: search never reads them.
    await store.append([{ projectId: PROJECT, fromSize: from, entries, tiles: [] }]);
  }
  console.log(`wrote ${TOTAL} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  started = performance.now();
  for (let from = 0; from < TOTAL; from += 1000) {
    const entries = await store.readEntries(PROJECT, from, Math.min(TOTAL, from + 1000));
    await store.indexForSearch(PROJECT, from, entries.map(searchDocument));
  }
  const indexSeconds = (performance.now() - started) / 1000;
  console.log(`indexed in ${indexSeconds.toFixed(1)} s (${Math.round(TOTAL / indexSeconds)} events/s); index file ${(fs.statSync(path.join(dataDir, 'veritrail-index.db')).size / 2 ** 20).toFixed(0)} MiB`);

  const indexer = new SearchIndexer(store);
  const mid = new Date(START + (TOTAL / 2) * 1000);
  const hourLater = new Date(mid.getTime() + 3600_000).toISOString();
  const cases: Array<[string, SearchParams]> = [
    ['newest 100', {}],
    ['one hour in the middle', { from: mid.toISOString(), to: hourLater }],
    ['eventName in that hour', { eventName: 'CreateUser', from: mid.toISOString(), to: hourLater }],
    ['actor (0.2% of events)', { actor: 'user7' }],
    ['outcome=failure, oldest first', { outcome: 'failure', order: 'asc' }],
    ['sourceIp (one event)', { sourceIp: '10.1.2.3' }],
    ['q: one rare word', { q: 'reports/123456/summary' }],
    ['q: a word in 1% of events', { q: 'bucket-42' }],
    ['q: a word in every event', { q: 'amazonaws' }],
    ['q: a word in every event, that hour', { q: 'amazonaws', from: mid.toISOString(), to: hourLater }],
    ['filter in that hour', { filter: JSON.stringify({ 'event.requestParameters.bucketName': 'bucket-5' }), from: mid.toISOString(), to: hourLater }],
    ['filter, no range (budget-bound)', { filter: JSON.stringify({ 'event.requestParameters.bucketName': 'no-such-bucket' }) }],
  ];
  for (const [name, params] of cases) {
    await searchEvents(store, indexer, PROJECT, params); // warm
    const t0 = performance.now();
    const runs = 5;
    let page;
    for (let r = 0; r < runs; r++) page = await searchEvents(store, indexer, PROJECT, params);
    console.log(`${name.padEnd(34)} ${((performance.now() - t0) / runs).toFixed(1).padStart(8)} ms  (${page!.hits.length} results${page!.next ? ', more' : ''})`);
  }
} finally {
  await store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
