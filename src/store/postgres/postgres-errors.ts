/**
 * Which errors of `pg` mean the database could not be reached or dropped the connection, as
 * opposed to a statement it refused: the former become StoreUnavailableError (store.ts), which
 * callers may retry and the API answers with 503 and Retry-After, not 500.
 */
import pg from 'pg';
import { StoreUnavailableError } from '../store.ts';

/**
 * SQLSTATEs of a session the server could not open or ended: the connection exceptions (class
 * 08) but 08P01, a protocol violation PostgreSQL also reports for a client's malformed message
 * (a bug, not an outage); administrator, crash and startup shutdowns; too many connections.
 */
const CONNECTION_SQLSTATES = new Set(['08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300']);

/** `error` as StoreUnavailableError when it is a lost or refused connection; else itself. */
export function asUnavailable(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof pg.DatabaseError) {
    const lost = CONNECTION_SQLSTATES.has(error.code ?? '') || (error.code === '08P01' && error.severity === 'FATAL');
    return lost ? new StoreUnavailableError(`PostgreSQL ended the session: ${error.message}`, { cause: error }) : error;
  }
  const e = error as { code?: unknown; message?: unknown };
  // Node's socket errors (ECONNREFUSED, ECONNRESET, ...) and pg's own for a connection that
  // ended, including a query sent on a client whose connection has already failed (the
  // sequencer lock's session, terminated between taking the lock and appending).
  const lost =
    (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) ||
    (typeof e.message === 'string' && /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error and is not queryable/.test(e.message));
  return lost ? new StoreUnavailableError(`PostgreSQL could not be reached: ${String(e.message)}`, { cause: error }) : error;
}
