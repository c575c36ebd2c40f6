/** If-Match matching (src/api/etag.ts), RFC 9110 strong comparison. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etag, ifMatch } from '../../src/api/etag.ts';

describe('If-Match', () => {
  it('is absent without a header, matches *, lists, and never a weak tag', () => {
    assert.equal(etag(7), '"7"');
    assert.equal(ifMatch(undefined), undefined);
    assert.equal(ifMatch('*')!.matches(3), true);
    assert.equal(ifMatch('"3"')!.matches(3), true);
    assert.equal(ifMatch('"3"')!.matches(4), false);
    assert.equal(ifMatch('"1", "4" ,"9"')!.matches(4), true);
    assert.equal(ifMatch('W/"4"')!.matches(4), false);
    assert.equal(ifMatch('4')!.matches(4), false, 'an unquoted tag is not an entity tag');
    assert.equal(ifMatch(['"2"', '"5"'])!.matches(5), true);
  });
});
