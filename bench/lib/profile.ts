/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and sums self time per function and
 * per file. Self time of a node is the sum of the time deltas of the samples taken in it; time
 * spent in native code (better-sqlite3, hashing, syscalls) is charged to the native function V8
 * saw, e.g. `run` or `hash`, with no file. Positions in .ts files are mapped back to source
 * lines through tsx's cached source maps (source-lines.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceLines } from './source-lines.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface CpuProfile {
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC on Linux, as process.hrtime). */
  startTime: number;
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** Function name, or a file or package for the per-file list. */
  name: string;
  /** File and line (functions), relative to the repository. */
  where: string;
  ms: number;
  /** Share of busy time (everything but `(idle)`). */
  share: number;
}

export interface ProfileSummary {
  scenario: string;
  file: string;
  totalMs: number;
  idleMs: number;
  /** True when only the samples of the load window were counted (start-up left out). */
  windowOnly: boolean;
  functions: SelfTime[];
  files: SelfTime[];
}

/** A file URL as a short place: `src/log/sequencer.ts`, `fastify`, `node:internal/…`. */
function shortPlace(url: string): string {
  if (url === '') return '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = file.slice(modules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return file.startsWith(ROOT + '/') ? path.relative(ROOT, file) : file;
}

/** Self time per profile node, counting only samples taken in `window` (µs, monotonic) if given. */
function selfTimes(profile: CpuProfile, window?: [number, number]): Map<number, number> {
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (!window || (at >= window[0] && at <= window[1])) self.set(id, (self.get(id) ?? 0) + delta);
  });
  return self;
}

/**
 * Sums a profile. With `window` (monotonic µs, from process.hrtime), only the samples of the
 * load window count, so the server's start-up does not crowd the list; if no sample falls in
 * it, every sample counts and `windowOnly` says so.
 */
export function summariseProfile(scenario: string, file: string, window?: [number, number], top = 15): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let selfByNode = selfTimes(profile, window);
  const windowOnly = window !== undefined && selfByNode.size > 0;
  if (!windowOnly) selfByNode = selfTimes(profile);

  const functions = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  const lines = new SourceLines();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfByNode) {
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const place = shortPlace(url);
    const source = url.startsWith('file://') && url.endsWith('.ts') ? lines.originalLine(fileURLToPath(url), lineNumber, columnNumber) : undefined;
    const position = url.endsWith('.ts') ? `${lineNumber + 1}:${columnNumber + 1}` : `${lineNumber + 1}`;
    const where = url ? `${place}:${source ?? position}` : place;
    const key = `${name}\u0000${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const fileKey = url ? place : name.startsWith('(') ? name : '(native)';
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const rank = (list: Array<{ name: string; where: string; us: number }>) =>
    list
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: e.us / busyUs }));
  return {
    scenario,
    file: path.relative(ROOT, file),
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    windowOnly,
    functions: rank([...functions.values()]),
    files: rank([...files].map(([name, us]) => ({ name, where: '', us }))),
  };
}

export function renderProfile(summary: ProfileSummary): string {
  const busy = summary.totalMs - summary.idleMs;
  const row = (e: SelfTime) => `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}${e.where ? `  ${e.where}` : ''}`;
  return [
    `Profile of the server during ${summary.scenario} (${summary.file}), ${summary.windowOnly ? 'measured window only' : 'whole process life'}: ${busy.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle`,
    ' Top self time by function (share of busy time):',
    ...summary.functions.map(row),
    ' Self time by file or package:',
    ...summary.files.slice(0, 10).map(row),
  ].join('\n');
}
