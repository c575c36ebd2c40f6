/** A node's configuration is checked once, at start (api/node-config.ts resolveNodeConfig). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveNodeConfig } from '../../src/api/node-config.ts';

describe('node configuration', () => {
  it('refuses an assumed spare CPU share outside 0 to 1, and takes one inside', () => {
    for (const assumeSpareShare of [-0.1, 1.5, Number.NaN]) {
      assert.throws(() => resolveNodeConfig({ searchPacing: { assumeSpareShare } }), /assumeSpareShare .* must be a share of CPU time, from 0 to 1/);
    }
    assert.deepEqual(resolveNodeConfig({ searchPacing: { enabled: true, assumeSpareShare: 0 } }).searchPacing, { enabled: true, assumeSpareShare: 0 });
  });
});
