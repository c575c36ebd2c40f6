/**
 * Several nodes sequence one PostgreSQL store at once, and each log still has exactly one
 * sequencer at a time. Two locks make that so, both held by PostgreSQL, so they die with the
 * session that holds them:
 *
 *  - The sequencer lock (`PgSequencerLock`, liveness): a transaction-scoped advisory lock per
 *    log, taken on a session of its own before the sequencer reads the log's size and plans
 *    (after its id lookup, if any), and released by its append's own commit. A second
 *    node waits for it instead of planning against a size that is about to change, so
 *    contention costs a wait, not a retry. It is a lease: the session is killed by PostgreSQL
 *    once it has sat idle in its transaction for the lease time (postgres-config.ts), so a
 *    stalled or vanished node holds the others back at most that long, and a killed one not
 *    at all. The append runs in the lock's own transaction, and its COMMIT is sent right
 *    behind it (the session is in `pg`'s pipeline mode): PostgreSQL releases the lock in the
 *    commit, without waiting for this node to read the append's reply and let go. With two
 *    nodes on one log, that wait (an event loop turn of a busy node, the receipts' replies, one
 *    more round trip) was a fifth of the time each held the lock. A node whose session the
 *    lease ended finds out when it appends: the append fails with the session
 *    (StoreUnavailableError, a 503), and its clients retry with the same event ids.
 *  - The log row lock (postgres-append.ts, safety): inside every append statement, the logs'
 *    `projects` rows are locked `FOR UPDATE` and their sizes compared with `fromSize`. Even an
 *    append made without the advisory lock (Store.append) can then never land at a size
 *    another node already used: it fails with TreeSizeMismatchError and nothing is written.
 *
 * Locks are always taken in ascending project pk order, so two nodes whose batches share
 * several logs can never deadlock.
 */
import type pg from 'pg';
import { integers, type SqlStatement } from './postgres-append.ts';
import { asUnavailable } from './postgres-errors.ts';

/** Advisory-lock namespaces (the first key of the two-key form); the second key is a pk. */
export const SEQUENCER_NAMESPACE = 0x56540001;
export const CHECKPOINT_NAMESPACE = 0x56540002;
/** Search chunk boundaries (PgStore.indexForSearch); the second key is a hash of (pk, index). */
export const SEARCH_CHUNK_NAMESPACE = 0x56540004;
/** The one-key advisory lock held while a node migrates the schema. */
const MIGRATION_LOCK_KEY = 0x5654_0000_0003n;

/** The sequencer lock of some logs, until `commit` or `release`. */
export interface HeldSequencerLock {
  /**
   * Runs `statement` in the lock's transaction and commits it: one round trip, and the commit
   * releases the lock. Rejects with the statement's error if it failed (nothing is written),
   * or with another when the outcome is unknown (the connection died before the reply).
   */
  commit(statement: SqlStatement): Promise<void>;
  /** Ends the hold without writing; nothing if `commit` already ended it. Never rejects. */
  release(): Promise<void>;
}

/**
 * The tiles of each log's right edge, as TreeEdge.tilesFor lists them for its size: at each
 * level L, the tile of index floor(size / 256^(L+1)), the one the next hash of that level goes
 * into, if it already holds some (floor(size / 256^L) mod 256 of them). 256 is the tile width
 * (log/tiles.ts), so the shifts are by 8 bits a level; levels 0 to 6 cover every size up to
 * 2^56, far past the 2^53 a size can reach. None for a log still at the size the sequencer
 * knows ($2, -1 for none): its remembered edge is current, and one node alone on its logs
 * would otherwise read up to three tiles with every batch only to drop them.
 */
const EDGE_TILES_SQL = `SELECT p.pk, t.level, t.idx, t.hashes
  FROM unnest($1::integer[], $2::bigint[]) AS k(pk, known)
  JOIN projects p ON p.pk = k.pk AND p.tree_size <> k.known
  CROSS JOIN generate_series(0, 6) AS l(level)
  JOIN tiles t ON t.project_pk = p.pk AND t.level = l.level AND t.idx = p.tree_size >> (8 * (l.level + 1))
  WHERE (p.tree_size >> (8 * l.level)) & 255 > 0`;

export class PgSequencerLock {
  /** The session that holds the locks; replaced when it dies. Used by one sequencer at a time. */
  private session: pg.Client | undefined;

  constructor(private readonly connect: () => Promise<pg.Client>) {}

  /**
   * Waits until this node is the one sequencer of the logs with these pks; returns their sizes
   * and right-edge tiles (none for a log still at its `knownSizes` entry, -1 for none), read
   * once the lock is held. One round trip: the lock sits inside the
   * critical section of every node sequencing the log, so each one saved there is saved for
   * all of them (with two nodes on a log, each batch finds the edge moved by the other).
   */
  async acquire(pks: readonly number[], knownSizes: readonly number[]): Promise<{ lock: HeldSequencerLock; sizes: Map<number, number>; edgeTiles: Map<number, Map<string, Buffer>> }> {
    const session = await this.open().catch((error: unknown) => Promise.reject(asUnavailable(error)));
    const sizes = new Map<number, number>();
    const edgeTiles = new Map<number, Map<string, Buffer>>(pks.map((pk) => [pk, new Map()]));
    try {
      // Three statements in one simple query, and the tiles' query pipelined behind it: each
      // takes its own snapshot (READ COMMITTED), so the sizes and tiles are read after the lock
      // is granted, and see the last holder's append. The pks are integers from the projects
      // table, written inline (a simple query has no parameters); ARRAY[...] keeps their
      // ascending order, so locks are taken in that order.
      const list = integers([...pks].sort((a, b) => a - b));
      const [locked, tiles] = await Promise.allSettled([
        session.query(
          `BEGIN; SELECT count(pg_advisory_xact_lock(${SEQUENCER_NAMESPACE}, k)) FROM unnest(ARRAY[${list}]::integer[]) AS k; SELECT pk, tree_size FROM projects WHERE pk IN (${list})`,
        ) as unknown as Promise<Array<pg.QueryResult<{ pk: number; tree_size: number }>>>,
        session.query<{ pk: number; level: number; idx: number; hashes: Buffer }>({ name: 'veritrail_edge_tiles', text: EDGE_TILES_SQL, values: [[...pks], [...knownSizes]] }),
      ]);
      if (locked.status === 'rejected') throw locked.reason;
      if (tiles.status === 'rejected') throw tiles.reason;
      for (const row of locked.value[2]!.rows) sizes.set(row.pk, row.tree_size);
      for (const row of tiles.value.rows) edgeTiles.get(row.pk)!.set(`${row.level}/${row.idx}`, row.hashes);
    } catch (error) {
      this.discard(session); // closing it ends the transaction and any lock it took
      const unavailable = asUnavailable(error);
      throw unavailable !== error ? unavailable : new Error("couldn't take the sequencer lock", { cause: error });
    }
    return { sizes, edgeTiles, lock: this.holding(session) };
  }

  private holding(session: pg.Client): HeldSequencerLock {
    let held = true;
    return {
      commit: async (statement) => {
        if (!held) throw new Error('the sequencer lock was already given up');
        held = false;
        // Both leave now; if the statement fails, PostgreSQL skips to the COMMIT, which then
        // ends the failed transaction as a ROLLBACK. Either way the lock is gone after it.
        const [ran, ended] = await Promise.allSettled([session.query({ name: statement.name, text: statement.text, values: statement.values }), session.query('COMMIT')]);
        // A COMMIT that failed: if the connection died, the outcome is unknown; if PostgreSQL
        // refused it, the transaction is gone. The session is not worth keeping either way.
        if (ended.status === 'rejected') this.discard(session);
        if (ran.status === 'rejected') throw asUnavailable(ran.reason);
        if (ended.status === 'rejected') throw asUnavailable(ended.reason);
        // Cannot happen (only a failed statement turns the COMMIT into a ROLLBACK), but a
        // receipt must never rest on a transaction that did not commit.
        if (ended.value.command !== 'COMMIT') throw new Error(`couldn't commit the append: its transaction ended in ${ended.value.command}`);
      },
      release: async () => {
        if (!held) return;
        held = false;
        try {
          await session.query('ROLLBACK'); // the transaction wrote nothing; ending it unlocks
        } catch {
          this.discard(session); // the lease ran out or the connection died: the lock is gone
        }
      },
    };
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.end().catch(() => {});
  }

  private async open(): Promise<pg.Client> {
    if (this.session) return this.session;
    const session = await this.connect();
    // A session the server ended (lease, restart) reports here; the next acquire opens another.
    session.on('error', () => this.discard(session));
    this.session = session;
    return session;
  }

  private discard(session: pg.Client): void {
    if (this.session === session) this.session = undefined;
    void session.end().catch(() => {});
  }
}

/** Runs `fn` holding the migration lock, so that nodes starting together migrate one at a time. */
export async function withMigrationLock<T>(client: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
  try {
    return await fn();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
  }
}
