/** The verifier's streaming root (root-folder.ts) against the naive reference tree. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ReferenceTree } from '../helpers/reference-tree.ts';
import { perfectRootLatin1 } from '../../src/log/hashing.ts';
import { RootFolder } from '../../src/log/root-folder.ts';

describe('RootFolder', () => {
  it('gives the RFC 6962 root at every size from 0 to 1,100', () => {
    const reference = new ReferenceTree();
    const folder = new RootFolder();
    for (let size = 0; size <= 1100; size++) {
      assert.equal(folder.size, size);
      assert.equal(folder.root().toString('hex'), reference.mth(0, size).toString('hex'), `size ${size}`);
      reference.push(randomBytes(1 + (size % 50)));
      folder.add(reference.leaves[size]!.toString('latin1'));
    }
  });

  it('gives the root at 65,537 leaves, past a power of two, and a different one when a leaf changes', () => {
    const reference = new ReferenceTree();
    for (let i = 0; i < 65_537; i++) reference.push(Buffer.from(`entry ${i}`));
    const folder = new RootFolder();
    for (const leaf of reference.leaves) folder.add(leaf.toString('latin1'));
    assert.deepEqual(folder.root(), reference.mth(0, 65_537));
    const changed = new RootFolder();
    reference.leaves.forEach((leaf, i) => changed.add(i === 40_000 ? Buffer.alloc(32).toString('latin1') : leaf.toString('latin1')));
    assert.notDeepEqual(changed.root(), reference.mth(0, 65_537));
  });
});

describe('RootFolder with subtrees hashed elsewhere', () => {
  it('gives the same roots when aligned blocks of 4 and 256 come as perfect-subtree roots', () => {
    const reference = new ReferenceTree();
    for (let i = 0; i < 3000; i++) reference.push(Buffer.from(`entry ${i}`));
    const leaves = reference.leaves.map((leaf) => leaf.toString('latin1'));
    for (const block of [4, 256]) {
      const folder = new RootFolder();
      for (let i = 0; i < leaves.length; ) {
        // Whole aligned blocks as one subtree, every seventh block leaf by leaf.
        if (i % block === 0 && i + block <= leaves.length && (i / block) % 7 !== 3) {
          folder.addSubtree(perfectRootLatin1(leaves.slice(i, i + block)), block);
          i += block;
        } else folder.add(leaves[i++]!);
        assert.deepEqual(folder.root(), reference.mth(0, folder.size), `block ${block}, size ${folder.size}`);
      }
    }
    assert.throws(() => {
      const folder = new RootFolder();
      folder.add(leaves[0]!);
      folder.addSubtree(leaves[1]!, 2);
    }, /cannot start at 1/);
  });
});
