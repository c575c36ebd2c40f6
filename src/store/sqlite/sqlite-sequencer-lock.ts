/**
 * One process sequences a SQLite store at a time. The store's own append checks (the tree size
 * compare in `append`) already stop a fork, but two servers on one data directory would fight
 * for every commit; this lock makes the second refuse to start, with the pid of the first.
 *
 * The lock is a file holding the owner's pid. A file left by a process that died (kill -9) is
 * taken over, because that pid no longer runs.
 */
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'veritrail.lock';

export class SqliteSequencerLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): SqliteSequencerLock {
    const file = path.join(dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
        return new SqliteSequencerLock(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
        if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
          throw new Error(`another Veritrail (pid ${owner}) is using ${dataDir}; stop it, or give this one another --data directory`);
        }
        fs.rmSync(file, { force: true }); // left by a process that died; take it over
      }
    }
    throw new Error(`couldn't take the lock ${file}`);
  }

  release(): void {
    fs.rmSync(this.file, { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
