/**
 * Ingest as spec/api.md describes it: shapes, receipts, de-duplication, all-or-nothing batches,
 * group commit, `?wait=checkpoint`, and every bad input getting its 4xx with nothing appended.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { leafHash } from '../../src/log/hashing.ts';
import { verifyInclusion } from '../../src/log/merkle.ts';
import { openNote } from '../../src/log/signed-note.ts';
import { parseCheckpoint } from '../../src/log/checkpoint.ts';
import { envelopeText } from '../../src/core/envelope.ts';
import { canonicalize } from '../../src/core/canonical-json.ts';

interface Receipt {
  eventId: string;
  index: number;
  leafHash: string;
  receivedAt: string;
  checkpoint?: string;
  inclusionProof?: string[];
}

describe('ingest', () => {
  it('one object, an array and NDJSON each append, with receipts in order', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const one = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { eventName: 'Login', actor: 'alice' });
    assert.equal(one.statusCode, 201);
    const receipt = one.json<Receipt>();
    assert.equal(receipt.index, 0);
    assert.match(receipt.eventId, /^[0-9a-f-]{36}$/);
    assert.match(receipt.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The receipt's leaf hash is the RFC 6962 hash of the RFC 8785 envelope.
    const expected = leafHash(Buffer.from(envelopeText(canonicalize({ eventName: 'Login', actor: 'alice' }), receipt.eventId, p.id, receipt.receivedAt)));
    assert.equal(receipt.leafHash, expected.toString('hex'));

    const batch = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [{ n: 1 }, { n: 2, eventId: 'mine' }, { n: 3, eventID: 'ct-1' }]);
    assert.equal(batch.statusCode, 201);
    const receipts = batch.json<Receipt[]>();
    assert.deepEqual(receipts.map((r) => r.index), [1, 2, 3]);
    assert.deepEqual(receipts.slice(1).map((r) => r.eventId), ['mine', 'ct-1']);

    const ndjson = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, '{"n":4}\n\n{"n":5}\n', { 'content-type': 'application/x-ndjson' });
    assert.equal(ndjson.statusCode, 201);
    assert.deepEqual(ndjson.json<Receipt[]>().map((r) => r.index), [4, 5]);
    assert.equal(await vt.node.store.treeSize(p.id), 6);
  });

  it('de-duplicates by event id: 200 with the original receipt, 409 for different content', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const url = `/v1/projects/${p.id}/events`;
    const first = await vt.call(p.writer, 'POST', url, { eventID: 'e-1', what: 'a' });
    assert.equal(first.statusCode, 201);
    const again = await vt.call(p.writer, 'POST', url, { what: 'a', eventID: 'e-1' });
    assert.equal(again.statusCode, 200, 'member order does not matter: the content is canonical');
    assert.deepEqual(again.json(), first.json());
    const conflict = await vt.call(p.writer, 'POST', url, { eventID: 'e-1', what: 'b' });
    assert.equal(conflict.statusCode, 409);
    assert.equal(conflict.json<{ error: string }>().error, 'CONFLICT');

    // In a batch, a known id reuses its receipt, a repeated id within the batch shares one, and
    // a conflicting one refuses the whole batch.
    const batch = await vt.call(p.writer, 'POST', url, [{ eventID: 'e-1', what: 'a' }, { eventId: 'x' }, { eventId: 'x' }]);
    assert.equal(batch.statusCode, 201);
    const receipts = batch.json<Receipt[]>();
    assert.deepEqual(receipts[0], first.json());
    assert.equal(receipts[1]!.index, 1);
    assert.deepEqual(receipts[2], receipts[1]);
    const refused = await vt.call(p.writer, 'POST', url, [{ eventId: 'fresh' }, { eventId: 'y', v: 1 }, { eventId: 'y', v: 2 }]);
    assert.equal(refused.statusCode, 409);
    assert.equal(await vt.node.store.treeSize(p.id), 2, 'nothing of the refused batch was appended');
    assert.equal((await vt.node.store.findByEventIds(p.id, ['fresh'])).size, 0);
  });

  it('concurrent requests share commits (group commit) and get distinct, gapless indexes', async (t) => {
    let commits = 0;
    const vt = await build(t, { sequencerHooks: { afterCommit: () => void commits++ } });
    const p = await vt.project();
    const responses = await Promise.all(Array.from({ length: 64 }, (_, i) => vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, { i })));
    assert.ok(responses.every((r) => r.statusCode === 201));
    const indexes = responses.map((r) => r.json<Receipt>().index).sort((a, b) => a - b);
    assert.deepEqual(indexes, Array.from({ length: 64 }, (_, i) => i));
    assert.ok(commits < 64, `64 requests took ${commits} commits`);
  });

  it('?wait=checkpoint returns a signed checkpoint and an inclusion proof that verify', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, [{ a: 1 }, { a: 2 }, { a: 3 }]);
    const response = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events?wait=checkpoint`, [{ b: 1 }, { b: 2 }]);
    assert.equal(response.statusCode, 201);
    for (const receipt of response.json<Receipt[]>()) {
      const checkpoint = parseCheckpoint(openNote(receipt.checkpoint!, [vt.node.signer]));
      assert.ok(checkpoint.size > receipt.index);
      assert.equal(checkpoint.origin, `veritrail.test/v1/projects/${p.id}/log`);
      const proof = receipt.inclusionProof!.map((h) => Buffer.from(h, 'base64'));
      assert.ok(verifyInclusion(receipt.index, checkpoint.size, Buffer.from(receipt.leafHash, 'hex'), proof, checkpoint.root));
    }
  });

  it('every bad input gets its documented 4xx in the native format and appends nothing', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const other = await vt.project('other');
    const revoked = (await vt.call(vt.orgKey, 'POST', `/v1/projects/${p.id}/keys`, { role: 'PROJECT_WRITER' })).json<{ id: string; key: string }>();
    assert.equal((await vt.call(vt.orgKey, 'DELETE', `/v1/projects/${p.id}/keys/${revoked.id}`)).statusCode, 204);
    const url = `/v1/projects/${p.id}/events`;
    const sizeBefore = await vt.node.store.treeSize(p.id); // the revocation's self-audit records
    const cases: Array<[string, () => ReturnType<typeof vt.call>, number, string]> = [
      ['a body that is not JSON', () => vt.call(p.writer, 'POST', url, '{"a":', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['a JSON scalar', () => vt.call(p.writer, 'POST', url, '42', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['a JSON string', () => vt.call(p.writer, 'POST', url, '"hello"', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['an empty body', () => vt.call(p.writer, 'POST', url, '', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['an empty array', () => vt.call(p.writer, 'POST', url, []), 400, 'BAD_REQUEST'],
      ['an array holding a non-object', () => vt.call(p.writer, 'POST', url, [{ ok: 1 }, [1], null]), 400, 'BAD_REQUEST'],
      ['NDJSON with a bad line', () => vt.call(p.writer, 'POST', url, '{"a":1}\nnope\n', { 'content-type': 'application/x-ndjson' }), 400, 'BAD_REQUEST'],
      ['an oversize event', () => vt.call(p.writer, 'POST', url, [{ ok: 1 }, { big: 'x'.repeat(256 * 1024) }]), 413, 'PAYLOAD_TOO_LARGE'],
      ['an oversize body', () => vt.call(p.writer, 'POST', url, Array.from({ length: 80 }, () => ({ big: 'y'.repeat(210 * 1024) }))), 413, 'PAYLOAD_TOO_LARGE'],
      ['more than 10,000 events', () => vt.call(p.writer, 'POST', url, Array.from({ length: 10_001 }, () => ({}))), 400, 'BAD_REQUEST'],
      ['a lone surrogate', () => vt.call(p.writer, 'POST', url, '{"s":"\\ud800"}', { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['nesting 200 deep', () => vt.call(p.writer, 'POST', url, '['.repeat(0) + '{"a":'.repeat(200) + '1' + '}'.repeat(200), { 'content-type': 'application/json' }), 400, 'BAD_REQUEST'],
      ['an event id of 300 characters', () => vt.call(p.writer, 'POST', url, { eventId: 'i'.repeat(300) }), 400, 'BAD_REQUEST'],
      ['a wrong content type', () => vt.call(p.writer, 'POST', url, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['text/plain', () => vt.call(p.writer, 'POST', url, '{}', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['an unknown project', () => vt.call(vt.orgKey, 'POST', `/v1/projects/${'a'.repeat(24)}/events`, { a: 1 }), 404, 'NOT_FOUND'],
      ['a malformed project id', () => vt.call(vt.orgKey, 'POST', '/v1/projects/NOT-AN-ID/events', { a: 1 }), 400, 'BAD_REQUEST'],
      ['an upper-case project id', () => vt.call(vt.orgKey, 'POST', `/v1/projects/${p.id.toUpperCase()}/events`, { a: 1 }), 400, 'BAD_REQUEST'],
      ['a missing key', () => vt.call(undefined, 'POST', url, { a: 1 }), 401, 'UNAUTHORIZED'],
      ['a Basic header', () => vt.call(undefined, 'POST', url, { a: 1 }, { authorization: 'Basic Zm9vOmJhcg==' }), 401, 'UNAUTHORIZED'],
      ['an unknown key', () => vt.call('vt_' + 'A'.repeat(43), 'POST', url, { a: 1 }), 401, 'UNAUTHORIZED'],
      ['a revoked key', () => vt.call(revoked.key, 'POST', url, { a: 1 }), 401, 'UNAUTHORIZED'],
      ['a read-only key', () => vt.call(p.reader, 'POST', url, { a: 1 }), 403, 'FORBIDDEN'],
      ["another project's key", () => vt.call(other.writer, 'POST', url, { a: 1 }), 403, 'FORBIDDEN'],
      ['a bad wait parameter', () => vt.call(p.writer, 'POST', `${url}?wait=forever`, { a: 1 }), 400, 'BAD_REQUEST'],
    ];
    for (const [name, send, status, code] of cases) {
      const response = await send();
      assert.equal(response.statusCode, status, `${name}: ${response.body.slice(0, 300)}`);
      const body = response.json<{ error: string; message: string }>();
      assert.equal(body.error, code, name);
      assert.ok(body.message.length > 0, name);
      assert.ok(response.headers['x-request-id'], name);
    }
    assert.equal(await vt.node.store.treeSize(p.id), sizeBefore, 'no bad request appended anything');
    const named = await vt.call(p.writer, 'POST', url, [{ ok: 1 }, 7, { ok: 2 }, 'x']);
    assert.deepEqual(
      named.json<{ details: Array<{ field: string }> }>().details.map((d) => d.field),
      ['[1]', '[3]'],
      'the 400 names each bad index',
    );
    const big = await vt.call(p.writer, 'POST', url, [{ ok: 1 }, { big: 'x'.repeat(256 * 1024) }]);
    assert.deepEqual(big.json<{ details: Array<{ field: string }> }>().details.map((d) => d.field), ['[1]']);
  });

  it('admits request bodies within a byte budget, refusing the excess with 503 before reading it', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const vt = await build(t, { ingestInflightBytes: 4096, sequencerHooks: { beforeCommit: () => (holding ? gate : undefined) } });
    const p = await vt.project();
    holding = true;
    const url = `/v1/projects/${p.id}/events`;
    const first = vt.call(p.writer, 'POST', url, Array.from({ length: 20 }, (_, i) => ({ i, pad: 'x'.repeat(100) }))); // ~2.5 KiB, held
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await vt.call(p.writer, 'POST', url, Array.from({ length: 20 }, (_, i) => ({ j: i, pad: 'y'.repeat(100) })));
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    const small = vt.call(p.writer, 'POST', url, { fits: true }); // a small body still fits beside the first
    release();
    assert.equal((await first).statusCode, 201);
    assert.equal((await small).statusCode, 201);
    // Everything admitted was released: a body of almost the whole budget is admitted again.
    const again = await vt.call(p.writer, 'POST', url, Array.from({ length: 30 }, (_, i) => ({ k: i, pad: 'z'.repeat(100) })));
    assert.equal(again.statusCode, 201);
  });

  it('keeps a member named __proto__ as data', async (t) => {
    const vt = await build(t);
    const p = await vt.project();
    const response = await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, '{"b":1,"__proto__":{"polluted":true},"a":2}', { 'content-type': 'application/json' });
    assert.equal(response.statusCode, 201);
    const [entry] = await vt.node.store.readEntries(p.id, 0, 1);
    assert.match(entry!.envelope.toString(), /^\{"event":\{"__proto__":\{"polluted":true\},"a":2,"b":1\}/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('answers 503 with Retry-After when the sequencer queue is full', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const vt = await build(t, { maxQueuedEvents: 5, sequencerHooks: { beforeCommit: () => (holding ? gate : undefined) } });
    const p = await vt.project();
    holding = true;
    const url = `/v1/projects/${p.id}/events`;
    const held = vt.call(p.writer, 'POST', url, [{ a: 1 }, { a: 2 }]); // taken into a commit that waits on the gate
    await new Promise((resolve) => setTimeout(resolve, 50));
    const queued = vt.call(p.writer, 'POST', url, [{ b: 1 }, { b: 2 }, { b: 3 }, { b: 4 }]); // queued behind it
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await vt.call(p.writer, 'POST', url, [{ c: 1 }, { c: 2 }]);
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.json<{ error: string }>().error, 'UNAVAILABLE');
    release();
    assert.equal((await held).statusCode, 201);
    assert.equal((await queued).statusCode, 201);
    assert.equal(await vt.node.store.treeSize(p.id), 6);
  });
});
