/**
 * An append as one statement, so that it costs one round trip (PgStore.append). The append is
 * inside every node's critical section (postgres-sequencer-lock.ts): under load each round trip
 * costs milliseconds, and four of them (BEGIN with the row locks, entries, tiles, COMMIT) were
 * most of the time a node held a log's lock.
 *
 * The statement, run outside any explicit transaction (so it commits by itself):
 *  - `locked`: the logs' `projects` rows, locked FOR UPDATE in pk order (as every writer takes
 *    them, so two can never deadlock);
 *  - `moved`: each row moved from its `fromSize` to its new size, if it is at `fromSize`;
 *  - `checked`: veritrail_check_moved (migration 7) raises SQLSTATE VTS01 unless every log
 *    moved, which aborts the whole statement: nothing is written;
 *  - the entries and tiles, inserted only once `checked` has passed (their WHERE reads it).
 * A UNIQUE (project, event id) violation aborts it the same way.
 *
 * Integers (pks, sizes, indexes, tile coordinates) are written into the text, checked to be
 * integers; event ids, envelopes and hashes are parameters, the Buffers sent as binary. An
 * append with more parameters than one statement may hold locks the rows and sends its first
 * entries ahead in statements of their own, inside a transaction with the final statement.
 */
import type { LogAppend } from '../store.ts';

/** PostgreSQL's limit of parameters in one statement (a 16-bit count in the protocol). */
const MAX_PARAMETERS = 65_535;
/** The SQLSTATE veritrail_check_moved raises when a log was not at its fromSize. */
export const SIZE_MOVED_SQLSTATE = 'VTS01';

export interface SqlStatement {
  text: string;
  values: unknown[];
}

/** The statements of one append: `ahead` (usually none) in one transaction with `final`. */
export function appendStatements(pks: readonly number[], appends: readonly LogAppend[], maxParameters = MAX_PARAMETERS): { ahead: SqlStatement[]; final: SqlStatement } {
  const entries = appends.flatMap((append, i) => append.entries.map((entry, j) => ({ pk: pks[i]!, idx: append.fromSize + j, eventId: entry.eventId, envelope: entry.envelope })));
  // One statement may not write a tile twice: keep the last write of each.
  const tiles = [...new Map(appends.flatMap((append, i) => append.tiles.map((tile) => [`${pks[i]}/${tile.level}/${tile.index}`, { pk: pks[i]!, ...tile }] as const))).values()];
  // Tiles take a parameter each, entries two: entries beyond what fits go ahead.
  const entriesInFinal = Math.max(0, Math.min(entries.length, Math.floor((maxParameters - tiles.length) / 2)));
  if (tiles.length > maxParameters) throw new Error(`an append of ${tiles.length} tiles does not fit one statement`);
  const aheadCount = entries.length - entriesInFinal;
  const pkList = integers([...new Set(pks)].sort((a, b) => a - b));
  // Entries sent ahead come after the logs' rows are locked, as in the final statement: an
  // appender that lost its sequencer lock then waits on the rows, not on our entries (which
  // could deadlock with it).
  const ahead: SqlStatement[] = aheadCount > 0 ? [{ text: `SELECT pk FROM projects WHERE pk IN (${pkList}) ORDER BY pk FOR UPDATE`, values: [] }] : [];
  for (let start = 0; start < aheadCount; start += Math.floor(maxParameters / 2)) {
    const values: unknown[] = [];
    const rows = entries.slice(start, Math.min(aheadCount, start + Math.floor(maxParameters / 2))).map((e) => entryRow(e, values));
    ahead.push({ text: `INSERT INTO entries (project_pk, idx, event_id, envelope) VALUES ${rows.join(', ')}`, values });
  }

  const values: unknown[] = [];
  const sizeCase = (pick: (append: LogAppend) => number) => `CASE pk ${appends.map((append, i) => `WHEN ${integers([pks[i]!])} THEN ${integers([pick(append)])}`).join(' ')} END`;
  const parts = [
    `locked AS (SELECT pk FROM projects WHERE pk IN (${pkList}) ORDER BY pk FOR UPDATE)`,
    `moved AS (UPDATE projects SET tree_size = ${sizeCase((a) => a.fromSize + a.entries.length)} WHERE pk IN (SELECT pk FROM locked) AND tree_size = ${sizeCase((a) => a.fromSize)} RETURNING pk)`,
    `checked AS (SELECT veritrail_check_moved((SELECT count(*) FROM moved)::integer, ${integers([appends.length])}) AS ok)`,
  ];
  const finalEntries = entries.slice(aheadCount).map((e) => entryRow(e, values));
  if (finalEntries.length > 0) {
    parts.push(`new_entries AS (INSERT INTO entries (project_pk, idx, event_id, envelope) SELECT * FROM (VALUES ${finalEntries.join(', ')}) AS v WHERE (SELECT ok FROM checked) RETURNING 1)`);
  }
  if (tiles.length > 0) {
    const rows = tiles.map((t) => {
      values.push(t.hashes);
      return `(${integers([t.pk, t.level, t.index])}, $${values.length}::bytea)`;
    });
    parts.push(
      `new_tiles AS (INSERT INTO tiles (project_pk, level, idx, hashes) SELECT * FROM (VALUES ${rows.join(', ')}) AS v WHERE (SELECT ok FROM checked) ON CONFLICT (project_pk, level, idx) DO UPDATE SET hashes = excluded.hashes RETURNING 1)`,
    );
  }
  // Every data-modifying part runs to completion whether or not the main query reads it.
  return { ahead, final: { text: `WITH ${parts.join(', ')} SELECT ok FROM checked`, values } };
}

function entryRow(entry: { pk: number; idx: number; eventId: string; envelope: Buffer }, values: unknown[]): string {
  values.push(entry.eventId, entry.envelope);
  return `(${integers([entry.pk, entry.idx])}, $${values.length - 1}::text, $${values.length}::bytea)`;
}

/** Integers written into SQL text, checked to be integers (they never come from a request). */
export function integers(values: readonly number[]): string {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return values.join(', ');
}
