/**
 * Derived SQLite files: data the main file can always rebuild (the event-id index, the search
 * index), so they are written without fsync (synchronous=OFF). A process crash loses nothing
 * the OS already has; a machine that went down uncleanly may leave such a file torn, so it is
 * trusted only if it was closed cleanly or has been written since this boot, has the schema
 * version of this code, and passes the caller's own check. Otherwise it is deleted and made
 * anew, and the caller rebuilds it.
 *
 * The server's store owns a file's `meta` rows (boot, clean); other writers (the search indexer
 * thread) open it as it is and never mark it.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';

export interface DerivedSchema {
  /** Bumping it drops and rebuilds every existing file of this kind. */
  version: number;
  /** The statements that make an empty file's tables. */
  statements: readonly string[];
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function meta(db: Database.Database, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

/** The caller's own test of a file that passed the generic ones (schema version, clean close or this boot). */
type DerivedCheck = (db: Database.Database) => boolean;

function trustworthy(db: Database.Database, schema: DerivedSchema, check?: DerivedCheck): boolean {
  try {
    if (meta(db, 'schema') !== String(schema.version)) return false;
    if (meta(db, 'clean') !== 'yes' && meta(db, 'boot') !== bootId()) return false;
    return check?.(db) ?? true;
  } catch {
    return false;
  }
}

/** Opens (making it if missing) a derived file for writing, with the schema applied. */
export function openDerivedForWriting(file: string, schema: DerivedSchema, cacheKiB: number): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${cacheKiB}`);
  db.transaction(() => {
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'meta'").get()) return;
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    for (const sql of schema.statements) db.exec(sql);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(String(schema.version));
  })();
  return db;
}

/**
 * The server's open: a file that cannot be trusted is deleted and made anew (empty); the file is
 * then marked as in use since this boot, until closeDerivedAsOwner.
 */
export function openDerivedAsOwner(file: string, schema: DerivedSchema, cacheKiB: number, check?: DerivedCheck): Database.Database {
  let db = openDerivedForWriting(file, schema, cacheKiB);
  if (!trustworthy(db, schema, check)) {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    db = openDerivedForWriting(file, schema, cacheKiB);
  }
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('boot', ?), ('clean', 'no')").run(bootId());
  return db;
}

/** For readers beside a server (fsck, export): the file, if it can be believed; else nothing. */
export function openDerivedReadOnly(file: string, schema: DerivedSchema, check: DerivedCheck): Database.Database | undefined {
  if (!fs.existsSync(file)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    if (trustworthy(db, schema, check)) return db;
  } catch {
    // unreadable: treated as absent
  }
  db?.close();
  return undefined;
}

/** The owner's close: every write is in the file, so the next open may trust it. */
export function closeDerivedAsOwner(db: Database.Database): void {
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clean', 'yes')").run();
  db.close();
}
