/**
 * Export over HTTP (spec/api.md "Reading events"): CSV read back by an independent RFC 4180
 * parser (csv-parse), and from/to exports in both formats, whose JSONL verifies offline line by
 * line against the final checkpoint.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { ENGINES } from '../helpers/stores.ts';
import { build } from '../helpers/app.ts';
import { verifyExport } from '../../src/log/export-verifier.ts';
import { parseVerifierKey } from '../../src/log/signed-note.ts';
import { splitLines } from '../../src/core/lines.ts';
import { CSV_COLUMNS } from '../../src/query/export.ts';
import { canonicalize } from '../../src/core/canonical-json.ts';

async function* once(buffer: Buffer) {
  yield buffer;
}

const TRICKY = [
  { eventId: 'comma', eventName: 'Update, then delete', actor: 'alice', eventTime: '2026-05-01T10:00:00Z', note: 'a,b,c' },
  { eventId: 'quote', eventName: 'Say "hello"', actor: 'bob "the builder"', eventTime: '2026-05-01T11:00:00Z', status: 'denied' },
  { eventId: 'newline', eventName: 'Multi\nline\r\nname', actor: 'carol', eventTime: '2026-05-01T12:00:00Z', sourceIPAddress: '203.0.113.7', errorCode: 'X' },
  { eventId: 'plain', atype: 'authenticate', users: [{ user: 'dave', db: 'admin' }], remote: { ip: '10.1.2.3' }, result: 0, ts: { $date: '2026-05-01T13:00:00.000Z' }, 10: 'ten', 9: 'nine' },
  { eventId: 'timeless', action: 'ping', 'é': 'ünïcödé ✓' },
];

for (const engine of ENGINES) describe(`${engine}: export`, () => {
  it('CSV: RFC 4180 quoting of commas, quotes and newlines, read back by csv-parse', async (t) => {
    const vt = await build(t, { engine });
    const p = await vt.project();
    const receipts = (await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, TRICKY)).json<Array<{ receivedAt: string }>>();
    const response = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?format=csv`);
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.match(String(response.headers['content-disposition']), /\.csv"$/);
    assert.ok(response.body.endsWith('\r\n'));
    const records = parse(response.body, { bom: false, relax_quotes: false, relax_column_count: false }) as string[][];
    assert.deepEqual(records[0], [...CSV_COLUMNS]);
    const rows = records.slice(1);
    assert.equal(rows.length, TRICKY.length);
    const byId = new Map(rows.map((row) => [row[1]!, row]));
    assert.deepEqual(byId.get('comma'), ['0', 'comma', receipts[0]!.receivedAt, '2026-05-01T10:00:00.000Z', 'Update, then delete', '', 'alice', '', '', canonicalize(TRICKY[0])]);
    assert.deepEqual(byId.get('quote')!.slice(4, 9), ['Say "hello"', '', 'bob "the builder"', '', 'failure']);
    assert.deepEqual(byId.get('newline')!.slice(3, 9), ['2026-05-01T12:00:00.000Z', 'Multi\nline\r\nname', '', 'carol', '203.0.113.7', 'failure']);
    assert.deepEqual(byId.get('plain')!.slice(3, 9), ['2026-05-01T13:00:00.000Z', 'authenticate', '', 'dave', '10.1.2.3', 'success']);
    assert.deepEqual(byId.get('timeless')!.slice(3, 9), ['', 'ping', '', '', '', '']);
    // The event column is the stored canonical JSON: integer-like names in RFC 8785 order.
    assert.equal(byId.get('plain')![9]!.slice(0, 22), '{"10":"ten","9":"nine"');
    for (const row of rows) assert.deepEqual(JSON.parse(row[9]!), TRICKY.find((e) => e.eventId === row[1]));
  });

  it('from/to: only the range, in index order; JSONL lines each carry a proof that verifies offline', async (t) => {
    const vt = await build(t, { engine });
    const p = await vt.project();
    // Event times out of index order, so that the range is not a run of indexes.
    const events = Array.from({ length: 40 }, (_, i) => ({ eventId: `r${i}`, eventTime: new Date(Date.UTC(2026, 0, 1, 0, (i * 7) % 40)).toISOString() }));
    assert.equal((await vt.call(p.writer, 'POST', `/v1/projects/${p.id}/events`, events)).statusCode, 201);
    const from = '2026-01-01T00:10:00Z';
    const to = '2026-01-01T00:20:00Z';
    const expected = events.map((e, i) => ({ i, minute: (i * 7) % 40 })).filter((e) => e.minute >= 10 && e.minute < 20).map((e) => e.i);
    assert.equal(expected.length, 10);

    const jsonl = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?from=${from}&to=${to}`);
    assert.equal(jsonl.statusCode, 200, jsonl.body);
    const lines = jsonl.rawPayload.toString().trimEnd().split('\n');
    const entries = lines.slice(0, -1).map((line) => JSON.parse(line) as { index: number; inclusionProof: string[] });
    assert.deepEqual(entries.map((e) => e.index), expected);
    assert.ok(entries.every((e) => Array.isArray(e.inclusionProof) && e.inclusionProof.length > 0));

    const verifier = parseVerifierKey((await vt.call(undefined, 'GET', '/v1/log/key')).json<{ vkey: string }>().vkey);
    const checkpointLine = Buffer.from(lines[lines.length - 1]!);
    const ok = await verifyExport(splitLines(once(jsonl.rawPayload)), verifier, { checkpointLine });
    assert.deepEqual([ok.ok, ok.entries, ok.partial], [true, 10, true], ok.problem);
    assert.ok(ok.checkpoint!.size >= 40, 'the checkpoint covers the log (and any self-audit records of earlier exports)');
    assert.match((await verifyExport(splitLines(once(jsonl.rawPayload)), verifier)).problem ?? '', /checkpoint line must be read first/);

    // One changed byte in one event, or a line moved, is caught and named.
    const tampered = Buffer.from(jsonl.rawPayload.toString().replace('"eventId":"r', '"eventId":"R'));
    const bad = await verifyExport(splitLines(once(tampered)), verifier, { checkpointLine });
    assert.equal(bad.ok, false);
    assert.equal(bad.firstBadIndex, expected[0]);
    const swapped = Buffer.from([lines[1], lines[0], ...lines.slice(2)].join('\n') + '\n');
    assert.match((await verifyExport(splitLines(once(swapped)), verifier, { checkpointLine })).problem ?? '', /out of order/);

    const csv = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?format=csv&from=${from}&to=${to}`);
    const rows = (parse(csv.body) as string[][]).slice(1);
    assert.deepEqual(rows.map((row) => Number(row[0])), expected);

    // A whole-log export still verifies the old way: no proofs, the tree rebuilt.
    const whole = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export`);
    assert.ok(!whole.body.includes('inclusionProof'));
    const all = await verifyExport(splitLines(once(whole.rawPayload)), verifier);
    assert.deepEqual([all.ok, all.entries, all.partial], [true, all.checkpoint!.size, undefined], all.problem);
    assert.ok(all.entries > 40, 'the earlier exports left ExportEvents self-audit records in the log');
  });

  it('refuses bad times and formats with 400', async (t) => {
    const vt = await build(t, { engine });
    const p = await vt.project();
    for (const query of ['format=xml', 'from=soon', 'to=2026-13-01T00:00:00Z', 'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'since=2026-01-01T00:00:00Z']) {
      const response = await vt.call(p.reader, 'GET', `/v1/projects/${p.id}/export?${query}`);
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      assert.equal(response.json<{ error: string }>().error, 'BAD_REQUEST');
    }
  });
});
