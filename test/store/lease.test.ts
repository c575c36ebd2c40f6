/** A named lease of a shared store, as a holder sees it (store/lease.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lease } from '../../src/store/lease.ts';

describe('lease', () => {
  it('says when the store refused it (standing by), and asks again only after a tenth of the lease', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    let free = false;
    let asked = 0;
    const store = {
      takeLease: async () => (asked++, free),
      dropLease: async () => {},
    };
    const lease = new Lease(store, 'job', 'me', 10_000);
    assert.deepEqual([lease.held, lease.refused], [false, false], 'never asked: neither');
    assert.equal(await lease.hold(), false);
    assert.deepEqual([lease.held, lease.refused, asked], [false, true, 1], 'refused: standing by');
    t.mock.timers.tick(999);
    assert.equal(await lease.hold(), false);
    assert.equal(asked, 1, 'within a tenth of the lease, the same answer without asking');
    t.mock.timers.tick(1);
    assert.equal(lease.refused, false, 'time to ask again');
    free = true;
    assert.equal(await lease.hold(), true);
    assert.deepEqual([lease.held, lease.refused, asked], [true, false, 2]);
    t.mock.timers.tick(10_000);
    assert.deepEqual([lease.held, lease.refused], [false, false], 'lapsed: not held, and not refused either');
  });
});
