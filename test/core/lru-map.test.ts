import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from '../../src/core/lru-map.ts';

describe('LruMap', () => {
  it('forgets the least recently set key first; setting a key again makes it the most recent', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    map.set('a', 3); // a is now newer than b
    map.set('c', 4);
    assert.deepEqual([...map], [['a', 3], ['c', 4]]);
  });

  it('with a limit of 0 keeps nothing (an uncached reader)', () => {
    const map = new LruMap<string, number>(0);
    map.set('a', 1);
    assert.equal(map.size, 0);
  });
});
