/**
 * Inclusion and consistency proofs, roots and tiles, checked against a naive in-memory RFC 6962
 * tree (test/helpers/reference-tree.ts) at every size from 1 to 300 and at random sizes up to
 * 100,000, through the real store and tile reader.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ReferenceTree } from '../helpers/reference-tree.ts';
import { appendLeaves, ENGINES, initStore, testProject, type TestStore } from '../helpers/stores.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { TreeEdge } from '../../src/log/tree-edge.ts';
import type { TileRef } from '../../src/store/store.ts';
import { SUMMARY_BYTES } from '../../src/log/tile-summary.ts';
import { fsckLog } from '../../src/log/fsck.ts';
import { generateSigner } from '../../src/log/signed-note.ts';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

for (const engine of ENGINES) {
  describe(`${engine}: proofs against a reference tree`, () => {
    let handle: TestStore;
    before(async () => {
      handle = await initStore(engine);
    });
    after(() => handle.destroy());

    it('every root, inclusion proof and consistency proof for sizes 1..300', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const reference = new ReferenceTree();
      const random = rng(1);
      const reader = new TreeReader(store);
      // Grow the log in uneven batches, checking the tiles as written at each size on the way.
      while (reference.leaves.length < 300) {
        const batch = Array.from({ length: Math.min(300 - reference.leaves.length, 1 + Math.floor(random() * 40)) }, () => randomBytes(8));
        batch.forEach((entry) => reference.push(entry));
        await appendLeaves(store, project.id, batch.map(leafHash), batch);
        const size = reference.leaves.length;
        assert.deepEqual(await reader.root(project.id, size), reference.mth(0, size), `root at ${size}`);
        const edge = TreeEdge.fromTiles(size, await store.readTiles(project.id, TreeEdge.tilesFor(size)));
        assert.deepEqual(edge.root(), reference.mth(0, size), `edge root at ${size}`);
      }
      // Then every proof at every older size, from the final tiles.
      for (let n = 1; n <= 300; n++) {
        const root = reference.mth(0, n);
        assert.deepEqual(await reader.root(project.id, n), root, `root ${n}`);
        for (let m = 0; m < n; m++) {
          const proof = await reader.inclusionProof(project.id, m, n);
          assert.deepEqual(proof, reference.path(m, 0, n), `inclusion(${m}, ${n})`);
          assert.ok(verifyInclusion(m, n, reference.leaves[m]!, proof, root), `verify inclusion(${m}, ${n})`);
        }
        for (let m = 1; m <= n; m++) {
          const proof = await reader.consistencyProof(project.id, m, n);
          assert.deepEqual(proof, m === n ? [] : reference.consistency(m, n), `consistency(${m}, ${n})`);
          assert.ok(verifyConsistency(m, n, reference.mth(0, m), root, proof), `verify consistency(${m}, ${n})`);
        }
      }
    });

    it('proofs in one tree read each tile once; a grown tree reads its grown tiles again', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const reference = new ReferenceTree();
      const grow = async (count: number) => {
        const hashes = Array.from({ length: count }, () => randomBytes(32));
        hashes.forEach((h) => reference.pushLeafHash(h));
        await appendLeaves(store, project.id, hashes);
      };
      const read: string[] = [];
      const counted = new Proxy(store, {
        get(target, name) {
          if (name === 'readTilesWithSummaries') {
            return (projectId: string, tiles: TileRef[]) => {
              read.push(...tiles.map((t) => `${t.level}/${t.index}`));
              return target.readTilesWithSummaries(projectId, tiles);
            };
          }
          const value = Reflect.get(target, name) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const reader = new TreeReader(counted);
      const random = rng(3);
      const checkProofs = async (n: number) => {
        for (let k = 0; k < 40; k++) {
          const m = Math.floor(random() * n);
          assert.deepEqual(await reader.inclusionProof(project.id, m, n), reference.path(m, 0, n), `inclusion(${m}, ${n})`);
          const old = 1 + Math.floor(random() * n);
          assert.deepEqual(await reader.consistencyProof(project.id, old, n), old === n ? [] : reference.consistency(old, n), `consistency(${old}, ${n})`);
        }
      };
      // 300 leaves: tile 0/0 is full, 0/1 holds 44 hashes and 1/0 one. Every proof in this tree
      // needs the two partial ones (the tree's right edge); they are read once, then cached.
      await grow(300);
      await checkProofs(300);
      assert.deepEqual(read.sort(), ['0/0', '0/1', '1/0']);
      // Grown to 310, tile 0/1 is wider than the copy read at 300: read again, once.
      await grow(10);
      read.length = 0;
      await checkProofs(310);
      assert.deepEqual(read, ['0/1']);
      // The wider copy still answers the tree of 300.
      read.length = 0;
      await checkProofs(300);
      assert.deepEqual(read, []);
      // At 600, tile 0/1 has filled up (and now has a summary) and 1/0 holds two hashes.
      await grow(290);
      read.length = 0;
      await checkProofs(600);
      assert.deepEqual(read.sort(), ['0/1', '0/2', '1/0']);
    });

    it('full tiles are stored with summaries that proofs use; tiles without one are climbed; fsck checks them', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const reference = new ReferenceTree();
      const envelopes = Array.from({ length: 5000 }, (_, i) => Buffer.from(`{"n":${i}}`)); // fsck hashes them again
      envelopes.forEach((e) => reference.push(e));
      await appendLeaves(store, project.id, envelopes.map(leafHash), envelopes);
      const n = 5000;
      const [full, partial] = await store.readTilesWithSummaries(project.id, [{ level: 0, index: 3 }, { level: 0, index: 19 }]);
      assert.equal(full!.summary?.length, SUMMARY_BYTES, 'a full tile has its summary');
      assert.equal(partial!.summary, undefined, 'a partial tile has none');
      const random = rng(11);
      const checked = [768, 783, 799, 1023, ...Array.from({ length: 30 }, () => Math.floor(random() * n))];
      const proofsMatch = async (reader: TreeReader) => {
        for (const m of checked) assert.deepEqual(await reader.inclusionProof(project.id, m, n), reference.path(m, 0, n), `inclusion(${m}, ${n})`);
        for (const m of checked) assert.deepEqual(await reader.consistencyProof(project.id, m + 1, n), reference.consistency(m + 1, n), `consistency(${m + 1}, ${n})`);
      };
      await proofsMatch(new TreeReader(store));
      const rewrite = (summary: Buffer | undefined) => store.append([{ projectId: project.id, fromSize: n, entries: [], tiles: [{ level: 0, index: 3, hashes: full!.hashes, ...(summary ? { summary } : {}) }] }]);

      // One byte of the summary's second run (leaves 784 to 799) changed behind the log's back:
      // proofs through it come out wrong (and fail to verify), and fsck names leaf 784.
      const changed = Buffer.from(full!.summary!);
      changed[32]! ^= 1;
      await rewrite(changed);
      const proof = await new TreeReader(store).inclusionProof(project.id, 768, n);
      assert.ok(!verifyInclusion(768, n, reference.leaves[768]!, proof, reference.mth(0, n)), 'a proof through the changed summary does not verify');
      const bad = await fsckLog(store, project.id, generateSigner('fsck.test'));
      assert.equal(bad.ok, false);
      assert.equal(bad.firstBadIndex, 784);
      assert.match(bad.problem!, /the stored summary of tile 0\/3 is wrong from entry 784 on: the entries and the tile's hashes are intact/);

      // A summary of the wrong length is not used: proofs climb the tile's hashes.
      await rewrite(full!.summary!.subarray(0, SUMMARY_BYTES - 32));
      await proofsMatch(new TreeReader(store));

      // A tile written before summaries existed has none: proofs climb its hashes, fsck passes.
      await rewrite(undefined);
      assert.equal((await store.readTilesWithSummaries(project.id, [{ level: 0, index: 3 }]))[0]!.summary, undefined);
      await proofsMatch(new TreeReader(store));
      assert.equal((await fsckLog(store, project.id, generateSigner('fsck.test'))).ok, true);
    });

    it('random proofs at random sizes up to 100,000', async () => {
      const { store } = handle;
      const project = testProject();
      await store.createProject(project);
      const reference = new ReferenceTree();
      const random = rng(7);
      const total = 100_000;
      while (reference.leaves.length < total) {
        const count = Math.min(total - reference.leaves.length, 1 + Math.floor(random() * 3000));
        const hashes = Array.from({ length: count }, () => randomBytes(32));
        hashes.forEach((h) => reference.pushLeafHash(h));
        await appendLeaves(store, project.id, hashes);
      }
      const reader = new TreeReader(store, 64);
      const sizes = [total, 65_536, 65_537, 256 * 256 + 255, 99_999, ...Array.from({ length: 25 }, () => 1 + Math.floor(random() * total))];
      for (const n of sizes) {
        const root = reference.mth(0, n);
        assert.deepEqual(await reader.root(project.id, n), root, `root ${n}`);
        for (let k = 0; k < 12; k++) {
          const m = k === 0 ? n - 1 : k === 1 ? 0 : Math.floor(random() * n);
          const proof = await reader.inclusionProof(project.id, m, n);
          assert.deepEqual(proof, reference.path(m, 0, n), `inclusion(${m}, ${n})`);
          assert.ok(verifyInclusion(m, n, reference.leaves[m]!, proof, root));
          const old = k === 0 ? n : 1 + Math.floor(random() * n);
          const consistency = await reader.consistencyProof(project.id, old, n);
          assert.deepEqual(consistency, old === n ? [] : reference.consistency(old, n), `consistency(${old}, ${n})`);
          assert.ok(verifyConsistency(old, n, reference.mth(0, old), root, consistency));
        }
      }
    });
  });
}

describe('proof verification rejects what it must', () => {
  const reference = new ReferenceTree();
  for (let i = 0; i < 70; i++) reference.push(Buffer.from([i]));

  it('a wrong index, a truncated or padded proof, a flipped byte', () => {
    for (let n = 1; n <= 70; n++) {
      const root = reference.mth(0, n);
      for (let m = 0; m < n; m++) {
        const proof = reference.path(m, 0, n);
        assert.ok(verifyInclusion(m, n, reference.leaves[m]!, proof, root));
        if (n > 1) assert.ok(!verifyInclusion((m + 1) % n, n, reference.leaves[m]!, proof, root), `wrong index ${m} ${n}`);
        if (proof.length > 0) {
          assert.ok(!verifyInclusion(m, n, reference.leaves[m]!, proof.slice(1), root), 'truncated');
          const flipped = proof.map((h) => Buffer.from(h));
          flipped[0]![5]! ^= 1;
          assert.ok(!verifyInclusion(m, n, reference.leaves[m]!, flipped, root), 'flipped');
        }
        assert.ok(!verifyInclusion(m, n, reference.leaves[m]!, [...proof, root], root), 'padded');
      }
      for (let m = 1; m < n; m++) {
        const proof = reference.consistency(m, n);
        assert.ok(verifyConsistency(m, n, reference.mth(0, m), root, proof));
        assert.ok(!verifyConsistency(m, n, reference.mth(0, m), root, proof.slice(0, -1)), 'truncated consistency');
        const flipped = proof.map((h) => Buffer.from(h));
        flipped[flipped.length - 1]![0]! ^= 1;
        assert.ok(!verifyConsistency(m, n, reference.mth(0, m), root, flipped), 'flipped consistency');
        const wrongOld = Buffer.from(reference.mth(0, m));
        wrongOld[0]! ^= 1;
        assert.ok(!verifyConsistency(m, n, wrongOld, root, proof), 'wrong old root');
      }
    }
  });

  it('edge rules: m == n, m == 0, m > n, index outside the tree', () => {
    const root = reference.mth(0, 10);
    assert.ok(verifyConsistency(10, 10, root, root, []));
    assert.ok(!verifyConsistency(10, 10, root, root, [root]));
    assert.ok(!verifyConsistency(10, 10, reference.mth(0, 9), root, []));
    assert.ok(verifyConsistency(0, 10, reference.mth(0, 0), root, []));
    assert.ok(!verifyConsistency(11, 10, root, root, []));
    assert.equal(rootFromInclusionProof(10, 10, reference.leaves[0]!, []), undefined);
    assert.equal(rootFromInclusionProof(-1, 10, reference.leaves[0]!, []), undefined);
  });
});
