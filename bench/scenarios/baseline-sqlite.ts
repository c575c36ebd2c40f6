/**
 * The storage limit: raw better-sqlite3 inserts of the very rows Veritrail stores (the canonical
 * envelopes of the same generated events), into a table shaped like Veritrail's entries table,
 * with the same durability (WAL, synchronous=FULL), in transactions of 100 rows. No tiles, no
 * id index, no HTTP: what the disk and SQLite allow, which batched ingest is compared against.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { EventSource, preparedEvents, withId } from '../lib/events.ts';
import type { Scenario } from '../lib/scenario.ts';

const ROWS_PER_TRANSACTION = 100;
const DISTINCT_ROWS = 20_000;

export const baselineSqlite: Scenario = {
  name: 'baseline-sqlite',
  description: 'raw better-sqlite3 inserts of the same ~1 KiB rows, WAL + synchronous=FULL, 100 per transaction',
  async run(ctx) {
    const seconds = ctx.pick({ quick: 4, full: 10 });
    const source = new EventSource();
    const events = Array.from({ length: DISTINCT_ROWS }, (_, i) => withId(source.next(), 0, i));
    const rows = preparedEvents('0123456789abcdef01234567', events, new Date().toISOString()).map((e) => e.envelope);

    const db = new Database(path.join(ctx.tempDir('sqlite'), 'baseline.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec('CREATE TABLE entries (key INTEGER PRIMARY KEY, envelope BLOB)');
      const insert = db.prepare('INSERT INTO entries (key, envelope) VALUES (?, ?)');
      const commit = db.transaction((from: number) => {
        for (let i = from; i < from + ROWS_PER_TRANSACTION; i++) insert.run(2 ** 32 + i, rows[i % rows.length]);
      });
      // Warm up the statement and the file, then measure.
      let inserted = 0;
      for (; inserted < 10 * ROWS_PER_TRANSACTION; inserted += ROWS_PER_TRANSACTION) commit(inserted);
      const started = performance.now();
      const end = started + seconds * 1000;
      let measured = 0;
      while (performance.now() < end) {
        commit(inserted);
        inserted += ROWS_PER_TRANSACTION;
        measured += ROWS_PER_TRANSACTION;
      }
      const rate = measured / ((performance.now() - started) / 1000);
      const meanRowBytes = rows.reduce((sum, row) => sum + row.length, 0) / rows.length;
      ctx.shared.set('sqlite.rows_per_s', rate);
      ctx.details[this.name] = { seconds, rows: measured, rate, meanRowBytes, transactions: measured / ROWS_PER_TRANSACTION };
      ctx.log(`raw SQLite: ${Math.round(rate)} rows/s (${Math.round(meanRowBytes)}-byte rows, ${measured / ROWS_PER_TRANSACTION} commits)`);
      return [{ id: 'baseline.sqlite.rows_per_s', scenario: this.name, label: 'Baseline: raw SQLite inserts, 100/txn', value: rate, unit: 'rows/s' }];
    } finally {
      db.close();
    }
  },
};
