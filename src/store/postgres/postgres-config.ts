/** Configuration of the PostgreSQL engine. */

/** Connections each node keeps open to PostgreSQL (besides its one sequencer-lock session). */
export const DEFAULT_POSTGRES_POOL_SIZE = 8;

/**
 * The sequencer lease, in milliseconds: how long a node that stalls or vanishes while it holds
 * a log's sequencer lock (or an open append transaction) can hold the other nodes back. It is
 * PostgreSQL's `idle_in_transaction_session_timeout` on Veritrail's sessions, a server-side
 * timer, so it fires whether the client process hangs, its machine dies or the network drops.
 * A node killed with `kill -9` on a live machine is faster: its sockets close at once and
 * PostgreSQL rolls back and unlocks as soon as it reads the end of the connection.
 */
export const DEFAULT_POSTGRES_LEASE_MS = 10_000;

export interface PostgresConfig {
  /** A libpq-style URL. Example: `postgres://veritrail:secret@db.internal:5432/veritrail`. */
  url: string;
  /**
   * Open without migrating, in read-only sessions (for `veritrail fsck` beside running nodes).
   * Default false.
   */
  readOnly?: boolean;
  /** Pool size. Default DEFAULT_POSTGRES_POOL_SIZE. */
  poolSize?: number;
  /** The sequencer lease in ms. Default DEFAULT_POSTGRES_LEASE_MS; at least 1000. */
  leaseMs?: number;
}

/** True for a URL the PostgreSQL engine takes (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL without its password, for messages (secrets are never logged). */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the configured PostgreSQL URL';
  }
}

/**
 * Settings of every Veritrail session, sent in the startup packet. The lease ends a session left
 * idle inside a transaction; TCP keepalives and the user timeout end one whose peer vanished in
 * the middle of a message, within about the same time.
 */
export function sessionOptions(config: PostgresConfig): string {
  const leaseMs = config.leaseMs ?? DEFAULT_POSTGRES_LEASE_MS;
  const settings = [
    `idle_in_transaction_session_timeout=${leaseMs}`,
    `tcp_keepalives_idle=${Math.max(1, Math.floor(leaseMs / 3000))}`,
    'tcp_keepalives_interval=1',
    'tcp_keepalives_count=3',
    `tcp_user_timeout=${leaseMs}`,
    ...(config.readOnly ? ['default_transaction_read_only=on'] : []),
  ];
  return settings.map((s) => `-c ${s}`).join(' ');
}
