/**
 * Published vectors: RFC 6962 trees and proofs from transparency-dev/merkle (spec/tlog.md §2.5),
 * tlog-tiles path encoding and widths (§5.2), signed-note keys and notes (§4.5).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, hash, verify } from 'node:crypto';
import { EMPTY_ROOT, leafHash } from '../../src/log/hashing.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { encodeTileIndex, decodeTileIndex, parseTilePath, tilePath, tileWidthAt } from '../../src/log/tiles.ts';
import { formatCheckpoint, parseCheckpoint } from '../../src/log/checkpoint.ts';
import { keyId, openNote, parseSignerKey, parseVerifierKey, signerFromSeed, signNote } from '../../src/log/signed-note.ts';
import { appendLeaves, initStore, testProject } from '../helpers/stores.ts';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const hex = (b: Buffer[]) => b.map((x) => x.toString('hex'));

describe('RFC 6962 vectors (transparency-dev/merkle)', () => {
  it('roots of sizes 0..8, and the proofs listed in spec/tlog.md §2.5', async () => {
    const handle = await initStore('sqlite');
    try {
      const project = testProject();
      await handle.store.createProject(project);
      const reader = new TreeReader(handle.store);
      assert.equal(EMPTY_ROOT.toString('hex'), ROOTS[0]);
      for (let n = 1; n <= 8; n++) {
        await appendLeaves(handle.store, project.id, [leafHash(LEAVES[n - 1]!)], [LEAVES[n - 1]!]);
        assert.equal((await reader.root(project.id, n)).toString('hex'), ROOTS[n], `root ${n}`);
      }
      assert.deepEqual(hex(await reader.inclusionProof(project.id, 0, 8)), [
        '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ]);
      assert.deepEqual(hex(await reader.inclusionProof(project.id, 5, 8)), [
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ]);
      assert.deepEqual(hex(await reader.consistencyProof(project.id, 2, 8)), [
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ]);
      assert.deepEqual(hex(await reader.consistencyProof(project.id, 6, 8)), [
        '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      ]);
      assert.deepEqual(hex(await reader.consistencyProof(project.id, 2, 5)), [
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      ]);
    } finally {
      await handle.destroy();
    }
  });
});

describe('tlog-tiles coordinates', () => {
  it('encodes tile indexes in 3-digit groups', () => {
    assert.equal(encodeTileIndex(0), '000');
    assert.equal(encodeTileIndex(999), '999');
    assert.equal(encodeTileIndex(1000), 'x001/000');
    assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
    for (const n of [0, 5, 999, 1000, 1234067, 2 ** 40]) assert.equal(decodeTileIndex(encodeTileIndex(n)), n);
    assert.equal(decodeTileIndex('x000/001'), undefined, 'non-canonical');
    assert.equal(decodeTileIndex('01'), undefined);
  });

  it('parses and writes tile paths, refusing non-canonical forms', () => {
    assert.deepEqual(parseTilePath('0/x001/234.p/7'), { kind: 'hashes', level: 0, index: 1234, width: 7 });
    assert.deepEqual(parseTilePath('entries/000'), { kind: 'entries', index: 0, width: undefined });
    assert.equal(tilePath({ kind: 'hashes', level: 2, index: 1234067, width: 3 }), 'tile/2/x001/x234/067.p/3');
    for (const bad of ['00/000', '0/000.p/0', '0/000.p/256', '0/000.p/07', '64/000', 'x/000', '0/1']) assert.equal(parseTilePath(bad), undefined, bad);
  });

  it('partial widths for a tree of 70,000 (the tlog-tiles example)', () => {
    const size = 70_000;
    assert.equal(tileWidthAt(0, 272, size), 256);
    assert.equal(tileWidthAt(0, 273, size), 112);
    assert.equal(tileWidthAt(1, 0, size), 256);
    assert.equal(tileWidthAt(1, 1, size), 17);
    assert.equal(tileWidthAt(2, 0, size), 1);
    assert.deepEqual(TreeEdge.tilesFor(size), [
      { level: 0, index: 273 },
      { level: 1, index: 1 },
      { level: 2, index: 0 },
    ]);
  });
});

describe('signed notes and checkpoints (C2SP)', () => {
  it('opens the C2SP signed-note example and derives its key id', () => {
    const verifier = parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    assert.equal(keyId('example.com/foo', verifier.publicKey).toString('hex'), '530d903a');
    const note = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    assert.equal(openNote(note, [verifier]), 'This is an example message.\n');
    assert.throws(() => openNote(note.replace('example message', 'example massage'), [verifier]), /does not verify/);
  });

  it('derives the x/mod example verifier from its signer key', () => {
    const signer = parseSignerKey('PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz');
    assert.equal(signer.text, 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
  });

  it('produces Veritrail\'s checkpoint vector byte for byte, and it verifies with plain node:crypto', () => {
    const seed = hash('sha256', 'veritrail checkpoint test seed', 'buffer');
    const signer = signerFromSeed('veritrail.example/projects/demo', seed);
    assert.equal(signer.text, 'veritrail.example/projects/demo+eaf3d693+Af5D+aCGR1+UNi1tLTzYGkt08KmIQ5Dq1ymzL8itYNpv');
    const body = formatCheckpoint({ origin: 'veritrail.example/projects/demo', size: 8, root: Buffer.from(ROOTS[8]!, 'hex') });
    const note = signNote(body, signer);
    assert.equal(
      note,
      'veritrail.example/projects/demo\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n' +
        '\u2014 veritrail.example/projects/demo 6vPWkzvAL7JwWovQa1+f9VrHD7HyF11EG55CqunK0NJbaLrYwTf8D+DRnNNl2sZtTq/RubD+ybKiDzEiqRJZUlubmAg=\n',
    );
    // Independently of signed-note.ts: take the note apart by hand and check it with node:crypto.
    const [text, signatureLine] = note.split('\n\n') as [string, string];
    const signature = Buffer.from(signatureLine.trim().split(' ')[2]!, 'base64');
    const publicKey = Buffer.from(signer.text.split('+').slice(2).join('+'), 'base64').subarray(1);
    const expectedId = hash('sha256', Buffer.concat([Buffer.from('veritrail.example/projects/demo\n'), Buffer.from([1]), publicKey]), 'buffer').subarray(0, 4);
    assert.deepEqual(signature.subarray(0, 4), expectedId);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey.toString('base64url') }, format: 'jwk' });
    assert.ok(verify(null, Buffer.from(text + '\n'), key, signature.subarray(4)));
    assert.deepEqual(parseCheckpoint(openNote(note, [signer])), { origin: 'veritrail.example/projects/demo', size: 8, root: Buffer.from(ROOTS[8]!, 'hex') });
  });

  it('ignores unknown signers, rejects notes no known key signed, and malformed checkpoints', () => {
    const a = signerFromSeed('a.example', Buffer.alloc(32, 1));
    const b = signerFromSeed('b.example', Buffer.alloc(32, 2));
    const note = signNote('a.example/log\n1\n' + Buffer.alloc(32).toString('base64') + '\n', a);
    assert.throws(() => openNote(note, [b]), /no known key/);
    assert.ok(openNote(note, [b, a]));
    for (const bad of ['o\n01\n' + Buffer.alloc(32).toString('base64') + '\n', 'o\n1\nAAAA\n', 'o o\n1\n' + Buffer.alloc(32).toString('base64') + '\n', 'o\n1\n']) {
      assert.throws(() => parseCheckpoint(bad), Error, JSON.stringify(bad));
    }
  });
});
