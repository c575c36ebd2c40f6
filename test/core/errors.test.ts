/** The error catalogue (STYLE.md §8), tested the way Fastify tests its own. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ERROR_CATALOGUE, VeritrailError, nativeCodeFor } from '../../src/core/errors.ts';

/** Changing the catalogue is a deliberate act: update this count, docs/errors.md and the dialect maps. */
const EXPECTED_CODES = 47;

describe('error catalogue', () => {
  const entries = Object.entries(ERROR_CATALOGUE);

  it(`holds exactly ${EXPECTED_CODES} codes`, () => {
    assert.equal(entries.length, EXPECTED_CODES);
  });

  it('each name equals its code, has a 4xx or 5xx status and builds a VeritrailError', () => {
    for (const [name, Ctor] of entries) {
      assert.equal(Ctor.code, name);
      assert.match(name, /^VT_ERR_[A-Z0-9_]+$/);
      assert.ok(Ctor.statusCode >= 400 && Ctor.statusCode < 600, name);
      const error = new Ctor('a', 'b', 'c');
      assert.ok(error instanceof VeritrailError);
      assert.equal(error.code, name);
      assert.equal(error.statusCode, Ctor.statusCode);
      assert.ok(!error.message.includes('%s'), `${name} has more placeholders than arguments`);
      assert.ok(nativeCodeFor(error.statusCode));
    }
  });

  it('every code is documented in docs/errors.md with its status, and nothing else is', () => {
    const doc = fs.readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(VT_ERR_[A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    assert.deepEqual(
      documented.sort(),
      entries.map(([name, Ctor]) => [name, Ctor.statusCode]).sort(),
    );
  });
});
