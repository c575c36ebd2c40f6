/**
 * The per-project policy cache: a filter is compiled once per configuration version, a local
 * change applies at once, and another node's change is seen once the refresh interval passes.
 * Time is an injected clock (STYLE.md §11), not a wait.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditPolicies, type VersionedAuditConfig } from '../../src/policy/audit-policies.ts';
import type { AuditConfig } from '../../src/policy/audit-config.ts';

const FILTER_A: AuditConfig = { enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: '{"eventName": "A"}' };
const FILTER_B: AuditConfig = { ...FILTER_A, auditFilter: '{"eventName": "B"}' };

function setup() {
  let now = 1_000_000;
  const stored = new Map<string, VersionedAuditConfig>();
  let reads = 0;
  const policies = new AuditPolicies(
    async (projectId) => {
      reads++;
      return stored.get(projectId);
    },
    { refreshMs: 1000, clock: { now: () => now } },
  );
  return { policies, stored, advance: (ms: number) => (now += ms), reads: () => reads };
}

describe('audit policies cache', () => {
  it('compiles a filter once per version and reads the store at most once per interval', async () => {
    const { policies, stored, advance, reads } = setup();
    stored.set('p', { version: 1, config: FILTER_A });
    const first = await policies.get('p');
    for (let i = 0; i < 1000; i++) assert.equal(await policies.get('p'), first);
    assert.equal(policies.compilations, 1);
    assert.equal(reads(), 1);
    advance(1000);
    assert.equal(await policies.get('p'), first, 'same version after a re-read: the same compiled policy');
    assert.equal(policies.compilations, 1);
    assert.equal(reads(), 2);
  });

  it('a burst at expiry makes one read', async () => {
    const { policies, stored, advance, reads } = setup();
    const burst = () => Promise.all(Array.from({ length: 50 }, () => policies.get('p')));
    stored.set('p', { version: 1, config: FILTER_A });
    await burst();
    assert.equal(reads(), 1, 'a cold cache: one read');
    stored.set('p', { version: 2, config: FILTER_B }); // another node's change
    advance(1000);
    const seen = await burst();
    assert.equal(reads(), 2, 'expired: one more read for the whole burst');
    assert.equal(policies.compilations, 2, 'and one compilation of the new version');
    assert.ok(seen.every((policy) => policy.version === 2));
  });

  it("applies this node's change at once and another node's after the interval", async () => {
    const { policies, stored, advance } = setup();
    stored.set('p', { version: 1, config: FILTER_A });
    assert.equal((await policies.get('p')).config.auditFilter, FILTER_A.auditFilter);
    // This node writes version 2: applied before any re-read.
    stored.set('p', { version: 2, config: FILTER_B });
    policies.put('p', { version: 2, config: FILTER_B });
    assert.equal((await policies.get('p')).version, 2);
    // Another node writes version 3: seen once the interval has passed.
    stored.set('p', { version: 3, config: FILTER_A });
    advance(999);
    assert.equal((await policies.get('p')).version, 2);
    advance(1);
    assert.equal((await policies.get('p')).version, 3);
    assert.equal(policies.compilations, 3);
  });

  it('never goes back to an older version', async () => {
    const { policies, stored, advance } = setup();
    policies.put('p', { version: 5, config: FILTER_B });
    stored.set('p', { version: 4, config: FILTER_A }); // a slow or stale read
    advance(5000);
    assert.equal((await policies.get('p')).version, 5);
  });

  it('a never-configured project gets the record-everything policy without compiling', async () => {
    const { policies } = setup();
    const policy = await policies.get('new');
    assert.equal(policy.version, 0);
    assert.equal(policy.recordsEverything, true);
    assert.equal(policies.compilations, 0);
  });
});
