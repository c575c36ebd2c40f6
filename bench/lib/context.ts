/**
 * What every scenario gets: the run's options, the places it may write, figures that later
 * scenarios compare against (the baselines' rates), and a way to start the Veritrail server
 * under the profiler when `--profile` asks for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderProfile, summariseProfile, type ProfileSummary } from './profile.ts';
import { startVeritrail, type ServerProcess } from './server.ts';

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchOptions {
  quick: boolean;
  /** Scenario names to run (with what they need); undefined: all. */
  only: string[] | undefined;
  profile: boolean;
}

/** Keys of `BenchContext.shared`: figures one scenario measures and another compares against. */
export type SharedFigure = 'sqlite.rows_per_s' | 'http.bare.requests_per_s' | 'ingest.single.events_per_s';

export class BenchContext {
  readonly resultsDir = path.join(BENCH, 'results');
  readonly datasetsDir = path.join(BENCH, 'results', 'datasets');
  readonly profilesDir = path.join(BENCH, 'results', 'profiles');
  readonly shared = new Map<SharedFigure, number>();
  /** Raw measurements per scenario, for latest.json. */
  readonly details: Record<string, unknown> = {};
  readonly profiles: ProfileSummary[] = [];
  private runs = 0;
  private readonly temps: string[] = [];

  constructor(readonly options: BenchOptions) {}

  /** A number unique to each load-generator run, written into its event ids. */
  nextRun(): number {
    return ++this.runs;
  }

  pick<T>(choice: { quick: T; full: T }): T {
    return this.options.quick ? choice.quick : choice.full;
  }

  log(message: string): void {
    process.stderr.write(`  ${message}\n`);
  }

  /** A fresh directory under the OS temp dir, removed by cleanup(). */
  tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vt-bench-${prefix}-`));
    this.temps.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }

  /** `veritrail serve` on `dataDir`; with --profile and a profile name, under --cpu-prof. */
  async startServer(dataDir: string, profileName?: string): Promise<ServerProcess> {
    if (!(this.options.profile && profileName)) return startVeritrail(dataDir);
    // A directory per profile: every thread writes its own file (tsx's loader runs in one).
    const dir = path.join(this.profilesDir, profileName);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return startVeritrail(dataDir, dir);
  }

  /** After a profiled server stopped: keep its main thread's profile, summarise and print it. */
  reportProfile(profileName: string, window?: [number, number]): void {
    if (!this.options.profile) return;
    const dir = path.join(this.profilesDir, profileName);
    // Node names profiles CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0.
    const main = fs.existsSync(dir) ? fs.readdirSync(dir).find((name) => name.split('.')[4] === '0') : undefined;
    if (!main) {
      this.log(`no profile of the main thread was written in ${dir}`);
      return;
    }
    const file = path.join(this.profilesDir, `${profileName}.cpuprofile`);
    fs.renameSync(path.join(dir, main), file);
    fs.rmSync(dir, { recursive: true, force: true });
    const summary = summariseProfile(profileName, file, window);
    this.profiles.push(summary);
    process.stderr.write(renderProfile(summary) + '\n');
  }
}
