/**
 * A full tile's summary (src/log/tile-summary.ts) against the naive reference tree: the roots of
 * its sixteen runs, the tile's root, and every interior node a proof can ask of the tile.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ReferenceTree } from '../helpers/reference-tree.ts';
import { nodeFromSummary, summariseTile, SUMMARY_BYTES } from '../../src/log/tile-summary.ts';

describe('tile summaries', () => {
  const hashes = Array.from({ length: 256 }, () => randomBytes(32));
  const reference = new ReferenceTree();
  hashes.forEach((h) => reference.pushLeafHash(h));
  const { summary, root } = summariseTile(hashes);

  it('hold the root of each run of 16 hashes, and fold to the tile root', () => {
    assert.equal(summary.length, SUMMARY_BYTES);
    for (let run = 0; run < 16; run++) assert.deepEqual(summary.subarray(run * 32, run * 32 + 32), reference.mth(run * 16, run * 16 + 16), `run ${run}`);
    assert.deepEqual(root, reference.mth(0, 256));
  });

  it('give every interior node of heights 1 to 7 at every offset', () => {
    const tile = Buffer.concat(hashes);
    for (let height = 1; height < 8; height++) {
      for (let offset = 0; offset < 256; offset += 2 ** height) {
        assert.deepEqual(nodeFromSummary(tile, summary, height, offset), reference.mth(offset, offset + 2 ** height), `height ${height} at ${offset}`);
      }
    }
  });

  it('are made for full tiles only', () => {
    assert.throws(() => summariseTile(hashes.slice(0, 255)), /only a full tile has a summary/);
  });
});
