/**
 * The machine a run was measured on, and the JSON file every run writes:
 * `bench/results/latest.json`, plus a dated copy so runs before and after a change can be diffed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EvaluatedFigure } from './figures.ts';
import type { BenchContext } from './context.ts';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  loadAverage: { start: number; end?: number };
  git: { commit: string; dirty: boolean } | undefined;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let git: MachineInfo['git'];
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { encoding: 'utf8' }).trim() !== '';
    git = { commit, dirty };
  } catch {
    git = undefined;
  }
  return {
    cores: os.availableParallelism(),
    cpuModel: model.trim(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: { start: os.loadavg()[0]! },
    git,
  };
}

export interface RunReport {
  date: string;
  command: string;
  options: BenchContext['options'];
  machine: MachineInfo;
  seconds: number;
  figures: EvaluatedFigure[];
  scenarios: Record<string, unknown>;
  profiles: BenchContext['profiles'];
}

/** Writes latest.json and a dated copy; returns the path of latest.json. */
export function writeReport(ctx: BenchContext, report: RunReport): string {
  fs.mkdirSync(ctx.resultsDir, { recursive: true });
  const text = JSON.stringify(report, null, 2) + '\n';
  const latest = path.join(ctx.resultsDir, 'latest.json');
  fs.writeFileSync(latest, text);
  fs.writeFileSync(path.join(ctx.resultsDir, `run-${report.date.replace(/[:.]/g, '-')}.json`), text);
  return latest;
}
