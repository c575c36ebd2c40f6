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
import { renderMarkdown } from './table.ts';

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

/** One line naming the machine and the run, for the table's caption. */
export function describeRun(report: RunReport): string {
  const m = report.machine;
  const load = `load average ${m.loadAverage.start.toFixed(2)} → ${m.loadAverage.end?.toFixed(2) ?? '?'}`;
  return `\`${report.command}\` on ${report.date.slice(0, 16).replace('T', ' ')} UTC, ${report.seconds.toFixed(0)} s: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; ${load}; commit ${m.git?.commit.slice(0, 10) ?? 'unknown'}${m.git?.dirty ? ' (with local changes)' : ''}`;
}

/**
 * Writes latest.json, a dated copy, and latest.md (the table in Markdown with its caption, for
 * the README); returns the path of latest.json.
 */
export function writeReport(ctx: BenchContext, report: RunReport): string {
  fs.mkdirSync(ctx.resultsDir, { recursive: true });
  const text = JSON.stringify(report, null, 2) + '\n';
  const latest = path.join(ctx.resultsDir, 'latest.json');
  fs.writeFileSync(latest, text);
  fs.writeFileSync(path.join(ctx.resultsDir, `run-${report.date.replace(/[:.]/g, '-')}.json`), text);
  fs.writeFileSync(path.join(ctx.resultsDir, 'latest.md'), `${describeRun(report)}\n\n${renderMarkdown(report.figures)}\n`);
  return latest;
}
