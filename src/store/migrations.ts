/**
 * Versioned schema migrations, shared by the engines: each engine lists its own SQL, and the
 * runner applies, in one transaction each, the ones a database has not seen, recording them in
 * `schema_migrations`. A database newer than the code is refused rather than guessed at.
 */
export interface Migration {
  version: number;
  name: string;
  /** SQL statements, run in order inside the migration's transaction. */
  statements: string[];
}

/** Checks a migration list is numbered 1..n with no gaps, once, at start-up. */
export function checkMigrations(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}; expected ${i + 1}`);
  });
}

/** The migrations still to apply to a database at `current`; throws if it is ahead of the code. */
export function pendingMigrations(migrations: readonly Migration[], current: number, engine: string): Migration[] {
  const latest = migrations.length;
  if (current > latest) {
    throw new Error(`the ${engine} database is at schema version ${current}, newer than this Veritrail (${latest}); upgrade Veritrail`);
  }
  return migrations.slice(current);
}
