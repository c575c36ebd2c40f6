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
 * Its text never changes, so each connection prepares it once: the values are arrays, one
 * element per log, entry or tile, and the entries' bytes (and the tiles', each tile's hashes
 * followed by its summary if it has one) travel as one binary parameter, cut apart by their
 * lengths in SQL. The earlier form wrote a VALUES row per entry into the text: PostgreSQL
 * parsed and planned every append anew, and byte arrays as parameters would have gone as hex
 * text. This one costs PostgreSQL half the CPU per entry (8 against 16 µs
 * for appends of 700 entries of 1 KiB), and has a fixed number of parameters however many entries
 * an append holds (the protocol allows 65,535).
 */
import type { LogAppend } from '../store.ts';

/** The SQLSTATE veritrail_check_moved raises when a log was not at its fromSize. */
export const SIZE_MOVED_SQLSTATE = 'VTS01';

export interface SqlStatement {
  /** The prepared statement's name: its text is the same for every call. */
  name: string;
  text: string;
  values: unknown[];
}

/**
 * The rows of `unnest(columns) WITH ORDINALITY`, whose last column is a byte length, each with
 * `cut`, its own bytes of the binary parameter `bytes`: a row's bytes end at the running sum of
 * the lengths.
 */
function cutApart(columns: string, names: string, bytes: string): string {
  return `SELECT *, substring(${bytes}::bytea FROM (stop - len + 1)::integer FOR len) AS cut
    FROM (SELECT *, sum(len) OVER (ORDER BY n) AS stop FROM unnest(${columns}) WITH ORDINALITY AS u(${names}, len, n)) AS rows`;
}

const APPEND_SQL = `WITH locked AS (SELECT pk FROM projects WHERE pk = ANY($1::integer[]) ORDER BY pk FOR UPDATE),
  moved AS (UPDATE projects p SET tree_size = v.to_size FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS v(pk, from_size, to_size)
    WHERE p.pk = v.pk AND p.pk IN (SELECT pk FROM locked) AND p.tree_size = v.from_size RETURNING p.pk),
  checked AS (SELECT veritrail_check_moved((SELECT count(*) FROM moved)::integer, cardinality($1::integer[])) AS ok),
  new_entries AS (INSERT INTO entries (project_pk, idx, event_id, envelope)
    SELECT pk, idx, event_id, cut FROM (${cutApart('$4::integer[], $5::bigint[], $6::text[], $7::integer[]', 'pk, idx, event_id', '$8')}) AS e WHERE (SELECT ok FROM checked) RETURNING 1),
  new_tiles AS (INSERT INTO tiles (project_pk, level, idx, hashes, summary)
    SELECT pk, level, idx, substring(cut FROM 1 FOR hashes_len), nullif(substring(cut FROM hashes_len + 1), ''::bytea)
    FROM (${cutApart('$9::integer[], $10::smallint[], $11::bigint[], $14::integer[], $12::integer[]', 'pk, level, idx, hashes_len', '$13')}) AS t WHERE (SELECT ok FROM checked)
    ON CONFLICT (project_pk, level, idx) DO UPDATE SET hashes = excluded.hashes, summary = excluded.summary RETURNING 1)
  SELECT ok FROM checked`;

/** The append statement for these appends (one per log; `pks` are their logs' pks, in order). */
export function appendStatement(pks: readonly number[], appends: readonly LogAppend[]): SqlStatement {
  const entries = appends.flatMap((append, i) => append.entries.map((entry, j) => ({ pk: pks[i]!, idx: append.fromSize + j, ...entry })));
  // One statement may not write a tile twice: keep the last write of each.
  const tiles = [...new Map(appends.flatMap((append, i) => append.tiles.map((tile) => [`${pks[i]}/${tile.level}/${tile.index}`, { pk: pks[i]!, ...tile }] as const))).values()];
  return {
    name: 'veritrail_append',
    text: APPEND_SQL,
    values: [
      pks,
      appends.map((append) => append.fromSize),
      appends.map((append) => append.fromSize + append.entries.length),
      entries.map((entry) => entry.pk),
      entries.map((entry) => entry.idx),
      entries.map((entry) => entry.eventId),
      entries.map((entry) => entry.envelope.length),
      Buffer.concat(entries.map((entry) => entry.envelope)),
      tiles.map((tile) => tile.pk),
      tiles.map((tile) => tile.level),
      tiles.map((tile) => tile.index),
      tiles.map((tile) => tile.hashes.length + (tile.summary?.length ?? 0)),
      Buffer.concat(tiles.flatMap((tile) => (tile.summary ? [tile.hashes, tile.summary] : [tile.hashes]))),
      tiles.map((tile) => tile.hashes.length),
    ],
  };
}

/** Integers written into SQL text, checked to be integers (they never come from a request). */
export function integers(values: readonly number[]): string {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return values.join(', ');
}
