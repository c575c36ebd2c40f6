/** The log routes (spec/api.md "The log") and export, checked with independent verification. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { HASH_SIZE, leafHash } from '../../src/log/hashing.ts';
import { verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';
import { openNote, parseVerifierKey } from '../../src/log/signed-note.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyExport, verifyExportFile, type ExportVerification } from '../../src/log/export-verifier.ts';
import { splitLines } from '../../src/core/lines.ts';

async function* once(buffer: Buffer) {
  yield buffer;
}

const pick = ({ ok, entries, firstBadIndex }: ExportVerification) => ({ ok, entries, firstBadIndex });

describe('the log', () => {
  it('serves the verifier key, checkpoints and proofs that verify', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const { vkey, name } = (await vt.call(undefined, 'GET', '/v1/log/key')).json<{ vkey: string; name: string }>();
    assert.equal(name, 'veritrail.test');
    const verifier = parseVerifierKey(vkey);
    const empty = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/checkpoint`);
    assert.equal(empty.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(parseCheckpoint(openNote(empty.body, [verifier])).size, 0, 'a new project has a signed empty checkpoint');

    const receipts = (await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events?wait=checkpoint`, Array.from({ length: 300 }, (_, i) => ({ i, eventId: `ev-${i}` })))).json<Array<{ leafHash: string }>>();
    const note = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/checkpoint`)).body;
    const checkpoint = parseCheckpoint(openNote(note, [verifier]));
    assert.equal(checkpoint.size, 300);

    for (const query of ['index=257', 'eventId=ev-257', 'index=257&treeSize=300']) {
      const proof = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/proof/inclusion?${query}`)).json<{ index: number; treeSize: number; leafHash: string; hashes: string[] }>();
      assert.equal(proof.index, 257, query);
      assert.equal(proof.leafHash, receipts[257]!.leafHash);
      assert.ok(verifyInclusion(257, 300, Buffer.from(proof.leafHash, 'hex'), proof.hashes.map((h) => Buffer.from(h, 'base64')), checkpoint.root), query);
    }
    const small = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/proof/inclusion?index=3&treeSize=10`)).json<{ hashes: string[] }>();
    assert.equal(small.hashes.length, 4);

    const consistency = (await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/proof/consistency?from=100`)).json<{ from: number; to: number; hashes: string[] }>();
    assert.equal(consistency.to, 300);
    const oldRoot = await vt.node.reader.root(p.id, 100);
    assert.ok(verifyConsistency(100, 300, oldRoot, checkpoint.root, consistency.hashes.map((h) => Buffer.from(h, 'base64'))));

    const bad: Array<[string, number]> = [
      ['proof/inclusion?index=0&treeSize=301', 400],
      ['proof/inclusion?index=300&treeSize=300', 400],
      ['proof/inclusion?index=1&eventId=ev-1', 400],
      ['proof/inclusion', 400],
      ['proof/inclusion?index=-1', 400],
      ['proof/inclusion?index=abc', 400],
      ['proof/inclusion?eventId=nope', 404],
      ['proof/consistency?from=5&to=4', 400],
      ['proof/consistency?from=1&to=301', 400],
      ['proof/consistency', 400],
    ];
    for (const [path, status] of bad) {
      const response = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/${path}`);
      assert.equal(response.statusCode, status, `${path}: ${response.body}`);
    }
  });

  it('serves tlog-tiles: full and partial hash tiles, entry bundles, and 404 for what does not exist', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, Array.from({ length: 300 }, (_, i) => ({ i })));
    const get = (path: string) => vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/${path}`);
    const full = await get('tile/0/000');
    assert.equal(full.statusCode, 200);
    assert.equal(full.rawPayload.length, 256 * HASH_SIZE);
    assert.equal(full.headers['content-type'], 'application/octet-stream');
    const partial = await get('tile/0/001.p/44');
    assert.equal(partial.rawPayload.length, 44 * HASH_SIZE);
    assert.equal((await get('tile/0/001.p/10')).rawPayload.length, 10 * HASH_SIZE);
    assert.equal((await get('tile/1/000.p/1')).rawPayload.length, HASH_SIZE);
    // The level-1 hash is the root of the first full level-0 tile.
    assert.deepEqual((await get('tile/1/000.p/1')).rawPayload, await vt.node.reader.root(p.id, 256));
    const bundle = (await get('tile/entries/001.p/44')).rawPayload;
    let offset = 0;
    for (let i = 0; i < 44; i++) {
      const length = bundle.readUInt16BE(offset);
      const entry = bundle.subarray(offset + 2, offset + 2 + length);
      assert.deepEqual(leafHash(entry), partial.rawPayload.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE), `bundle entry ${i}`);
      offset += 2 + length;
    }
    assert.equal(offset, bundle.length);
    const wide = (await get('entries-v2/001.p/44')).rawPayload;
    assert.equal(wide.readUInt32BE(0), bundle.readUInt16BE(0));
    for (const missing of ['tile/0/001', 'tile/0/001.p/45', 'tile/2/000.p/1', 'tile/0/002.p/1', 'tile/entries/001', 'tile/0/0', 'tile/0/000.p/256', 'tile/x']) {
      assert.equal((await get(missing)).statusCode, 404, missing);
    }
  });

  it('an entry over 65,535 bytes moves its bundle to entries-v2', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [{ small: 1 }, { big: 'z'.repeat(70_000) }]);
    const response = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/tile/entries/000.p/2`);
    assert.equal(response.statusCode, 404);
    assert.match(response.json<{ message: string }>().message, /entries-v2/);
    const wide = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/log/entries-v2/000.p/2`);
    assert.equal(wide.statusCode, 200);
    const first = wide.rawPayload.readUInt32BE(0);
    assert.ok(wide.rawPayload.readUInt32BE(4 + first) > 70_000);
  });

  it('exports JSONL that verifies offline, and fails verification when a byte changes', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, Array.from({ length: 1000 }, (_, i) => ({ i, text: `event ${i}`, nested: { k: [i, 'é'] } })));
    const response = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?format=jsonl`);
    assert.equal(response.statusCode, 200);
    const lines = response.body.trimEnd().split('\n');
    assert.equal(lines.length, 1001);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(first).sort(), ['event', 'eventId', 'index', 'leafHash', 'projectId', 'receivedAt']);
    const verifier = parseVerifierKey((await vt.call(undefined, 'GET', '/v1/log/key')).json<{ vkey: string }>().vkey);
    const good = await verifyExport(splitLines(once(response.rawPayload)), verifier);
    assert.deepEqual([good.ok, good.entries], [true, 1000]);

    // Re-serialised lines (another member order) still verify, through the slow path.
    const reordered = lines.map((line, i) => (i < 1000 ? JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(line)).reverse())) : line)).join('\n');
    assert.equal((await verifyExport(splitLines(once(Buffer.from(reordered))), verifier)).ok, true);

    const tampered = Buffer.from(response.body.replace('"event 517"', '"event 518"'));
    const bad = await verifyExport(splitLines(once(tampered)), verifier);
    assert.equal(bad.ok, false);
    assert.equal(bad.firstBadIndex, 517);
    const dropped = Buffer.from(lines.filter((_, i) => i !== 40).join('\n'));
    assert.equal((await verifyExport(splitLines(once(dropped)), verifier)).firstBadIndex, 40);
    const cut = Buffer.from([...lines.slice(0, 900), lines[1000]].join('\n'));
    assert.equal((await verifyExport(splitLines(once(cut)), verifier)).firstBadIndex, 900);
    const otherKey = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    assert.match((await verifyExport(splitLines(once(response.rawPayload)), otherKey)).problem!, /does not verify/);

    // The CLI's file reader gives the same verdicts, on this thread and with worker threads
    // hashing, also when lines straddle its reads (a 700-byte buffer: every line crosses a
    // read, and the buffer grows for the longest).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-verify-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const leafChanged = response.body.replace(/("leafHash":")([0-9a-f])/, (_, prefix: string, digit: string) => prefix + (digit === '0' ? '1' : '0'));
    // A from/to export: every line carries its inclusion proof and is checked on its own.
    const ranged = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?from=2000-01-01T00:00:00Z`);
    assert.equal(ranged.statusCode, 200, ranged.body);
    const rangedLines = ranged.body.trimEnd().split('\n');
    assert.ok(rangedLines.length > 1000 && rangedLines.slice(0, -1).every((line) => line.includes('"inclusionProof":[')));
    const rangedTampered = ranged.body.replace('"event 517"', '"event 518"');
    const rangedSwapped = [rangedLines[1], rangedLines[0], ...rangedLines.slice(2)].join('\n') + '\n';
    for (const threads of [0, 2]) {
      for (const chunkBytes of [undefined, 700]) {
        const options = { threads, ...(chunkBytes ? { chunkBytes } : {}) };
        const fileVerdict = (name: string, bytes: Buffer | string) => {
          const file = path.join(dir, name);
          fs.writeFileSync(file, bytes);
          return verifyExportFile(file, verifier, options);
        };
        const label = JSON.stringify(options);
        assert.deepEqual(pick(await fileVerdict('good.jsonl', response.rawPayload)), { ok: true, entries: 1000, firstBadIndex: undefined }, label);
        assert.deepEqual(pick(await fileVerdict('no-final-newline.jsonl', response.body.trimEnd())), { ok: true, entries: 1000, firstBadIndex: undefined }, label);
        assert.equal((await fileVerdict('reordered.jsonl', reordered)).ok, true, label);
        assert.equal((await fileVerdict('tampered.jsonl', tampered)).firstBadIndex, 517, label);
        assert.equal((await fileVerdict('dropped.jsonl', dropped)).firstBadIndex, 40, label);
        assert.equal((await fileVerdict('cut.jsonl', cut)).firstBadIndex, 900, label);
        // A changed leaf hash (the bytes no longer match it) is found too.
        assert.equal((await fileVerdict('leaf.jsonl', leafChanged)).firstBadIndex, 0, label);
        assert.match((await verifyExportFile(path.join(dir, 'good.jsonl'), otherKey, options)).problem!, /does not verify/, label);
        const rangedVerdict = await fileVerdict('ranged.jsonl', ranged.rawPayload);
        assert.deepEqual([rangedVerdict.ok, rangedVerdict.entries, rangedVerdict.partial], [true, rangedLines.length - 1, true], `${label} ${rangedVerdict.problem}`);
        assert.equal((await fileVerdict('ranged-tampered.jsonl', rangedTampered)).firstBadIndex, 517, label);
        assert.match((await fileVerdict('ranged-swapped.jsonl', rangedSwapped)).problem!, /entry 0 appears out of order/, label);
      }
    }
  });
});
