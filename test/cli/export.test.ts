/**
 * `veritrail export` as a real child process, reading a store written straight into SQLite:
 *  - a 1,000,000-event JSONL export (about 307 MiB) streams with flat memory: the child's peak
 *    RSS stays under EXPORT_PEAK_RSS_BOUND, and its RSS in the second half of the run grows less
 *    than EXPORT_RSS_GROWTH_BOUND over the first half's. (Measured: about 110 MiB at start, as
 *    Node, tsx and the CLI's imports need, rising to a plateau of 170-195 MiB as V8 and malloc
 *    warm up; three exports in a row in one process stay at that plateau. Holding the lines, the
 *    failure this guards against, would pass 300 MiB.) The parent reads the child's stdout as it
 *    comes, counting lines;
 *  - a from/to export in each format, the JSONL one checked by `veritrail verify`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { formatCheckpoint } from '../../src/log/checkpoint.ts';
import { signNote } from '../../src/log/signed-note.ts';
import { loadOrCreateSigner } from '../../src/log/log-key.ts';
import { BIN, runCli } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';

const EVENTS = 1_000_000;
/** The stated bound on the export process's peak resident memory (Node + tsx + SQLite caches). */
const EXPORT_PEAK_RSS_BOUND = 256 * 1024 * 1024;
/** How much RSS may grow in the second half of the export over the first: flat, give or take GC slack. */
const EXPORT_RSS_GROWTH_BOUND = 32 * 1024 * 1024;
const PROJECT = '0123456789abcdef01234567';
/** Event i happens at START + i seconds. */
const START = Date.UTC(2026, 0, 1);

/** Writes `count` events into a new store as the sequencer would (entries, tiles), and signs a checkpoint. */
async function generate(dataDir: string, count: number): Promise<void> {
  const store = new SqliteStore({ dataDir });
  const signer = loadOrCreateSigner(dataDir, 'export.test');
  const origin = `export.test/v1/projects/${PROJECT}/log`;
  await store.createProject({ id: PROJECT, name: 'export', createdAt: new Date(START).toISOString(), logOrigin: origin, system: false });
  let edge = TreeEdge.empty();
  for (let from = 0; from < count; from += 10_000) {
    const n = Math.min(10_000, count - from);
    const entries = Array.from({ length: n }, (_, j) => {
      const i = from + j;
      const event = `{"action":"read","actor":"user${i % 100}","eventTime":"${new Date(START + i * 1000).toISOString()}","n":${i},"target":"/data/file-${i}.csv"}`;
      return { eventId: `ev-${i}`, envelope: Buffer.from(envelopeText(event, `ev-${i}`, PROJECT, new Date(START).toISOString())) };
    });
    const next = edge.extend(entries.map((e) => leafHash(e.envelope)));
    await store.append([{ projectId: PROJECT, fromSize: from, entries, tiles: next.tiles }]);
    edge = next.edge;
  }
  const note = signNote(formatCheckpoint({ origin, size: count, root: edge.root() }), signer);
  await store.putCheckpoint({ projectId: PROJECT, treeSize: count, rootHash: edge.root(), note, createdAt: new Date().toISOString() });
  await store.close();
}

function readStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return undefined; // the process has exited
  }
}

describe('veritrail export', () => {
  let dataDir: string;
  before(async () => {
    dataDir = tempDir('vt-export-');
    await generate(dataDir, EVENTS);
  });
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it(`streams ${EVENTS.toLocaleString('en')} events with flat memory (peak RSS under ${EXPORT_PEAK_RSS_BOUND / 2 ** 20} MiB)`, async () => {
    const child = spawn(process.execPath, [BIN, 'export', '--data', dataDir, '--project', PROJECT], { stdio: ['ignore', 'pipe', 'pipe'] });
    const samples: number[] = [];
    let peak = 0;
    const poll = setInterval(() => {
      const status = readStatus(child.pid!);
      if (!status) return;
      samples.push(status.rss);
      peak = Math.max(peak, status.hwm);
    }, 50);
    let lines = 0;
    let bytes = 0;
    let tail = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      tail = (tail + chunk.toString('latin1')).slice(-4096);
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    clearInterval(poll);
    assert.equal(code, 0, stderr);
    assert.equal(lines, EVENTS + 1, 'one line per event and the checkpoint line');
    assert.match(tail, /\{"checkpoint":"export\.test\/v1\/projects\/0123456789abcdef01234567\/log\\n1000000\\n/);
    assert.ok(samples.length >= 8, `sampled the child ${samples.length} times`);
    const half = Math.floor(samples.length / 2);
    const early = Math.max(...samples.slice(0, half));
    const late = Math.max(...samples.slice(half));
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(`export of ${EVENTS} events (${mib(bytes)}): peak RSS ${mib(peak)}; max RSS ${mib(early)} in the first half, ${mib(late)} in the second`);
    assert.ok(peak > 0 && peak < EXPORT_PEAK_RSS_BOUND, `peak RSS ${mib(peak)}`);
    assert.ok(late - early < EXPORT_RSS_GROWTH_BOUND, `RSS grew from ${mib(early)} to ${mib(late)}`);
  });

  it('exports a time range in JSONL (verified by veritrail verify) and CSV', async () => {
    const out = path.join(dataDir, 'range.jsonl');
    // Events 500,000 to 500,009 by time; the store's search index is empty (never indexed), so
    // this also checks that a range export does not depend on the index.
    const from = new Date(START + 500_000 * 1000).toISOString();
    const to = new Date(START + 500_010 * 1000).toISOString();
    const exported = runCli(['export', '--data', dataDir, '--project', PROJECT, '--from', from, '--to', to, '--out', out]);
    assert.equal(exported.status, 0, exported.stderr);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, -1).map((l) => (JSON.parse(l) as { index: number }).index), Array.from({ length: 10 }, (_, i) => 500_000 + i));
    const vkey = path.join(dataDir, 'vkey');
    fs.writeFileSync(vkey, loadOrCreateSigner(dataDir, 'export.test').text);
    const verified = runCli(['verify', out, '--key', vkey]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ok: 10 entries of a from\/to export each proven included in checkpoint .* size 1000000/);

    const csv = runCli(['export', '--data', dataDir, '--project', PROJECT, '--format', 'csv', '--from', from, '--to', to]);
    assert.equal(csv.status, 0, csv.stderr);
    const rows = parse(csv.stdout) as string[][];
    assert.equal(rows.length, 11);
    assert.deepEqual(rows[1]!.slice(0, 2), ['500000', 'ev-500000']);
    assert.equal(rows[1]![6], 'user0');

    const bad = runCli(['export', '--data', dataDir, '--project', PROJECT, '--from', 'tomorrow']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Parameter from must be an RFC 3339 time/);
  });
});
