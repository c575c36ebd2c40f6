/**
 * Offline verification of an export: a log of generated ~1 KiB events built straight into a
 * store (cached), exported once through a real server (`GET …/export`, cached beside it), then
 * checked by the CLI as a user would run it: `veritrail verify FILE --key VKEY`. The figure is
 * events per second of wall-clock time, process start included.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BenchContext } from '../lib/context.ts';
import { eventDataset, type Dataset } from '../lib/datasets.ts';
import { atLeast } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';
import { BIN } from '../lib/server.ts';

/** The export file and verifier key of a dataset, made once and kept with it. */
async function exportOf(ctx: BenchContext, dataset: Dataset): Promise<{ file: string; vkey: string }> {
  const file = path.join(dataset.dir, 'export.jsonl');
  const vkey = path.join(dataset.dir, 'export.vkey');
  if (fs.existsSync(`${file}.done`)) return { file, vkey };
  const server = await ctx.startServer(dataset.dir);
  try {
    const started = performance.now();
    const response = await fetch(`${server.url}/v1/projects/${dataset.projectId}/export`, { headers: { authorization: `Bearer ${dataset.orgKey}` } });
    if (response.status !== 200 || !response.body) throw new Error(`export answered ${response.status}: ${await response.text()}`);
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), fs.createWriteStream(file));
    const seconds = (performance.now() - started) / 1000;
    ctx.log(`exported ${dataset.size} events in ${seconds.toFixed(1)} s (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB; cached for later runs)`);
  } finally {
    await server.stop();
  }
  fs.writeFileSync(vkey, dataset.vkey + '\n');
  fs.writeFileSync(`${file}.done`, '');
  return { file, vkey };
}

function runVerify(file: string, vkey: string): Promise<{ seconds: number; code: number | null; output: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'verify', file, '--key', vkey], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ seconds: (performance.now() - started) / 1000, code, output: output.trim() })));
}

export const verify: Scenario = {
  name: 'verify',
  description: 'veritrail verify of a 1M-event export (100k with --quick): events/s, wall clock',
  async run(ctx) {
    const size = ctx.pick({ quick: 100_000, full: 1_000_000 });
    const dataset = await eventDataset(ctx, size);
    const { file, vkey } = await exportOf(ctx, dataset);
    const run = await runVerify(file, vkey);
    if (run.code !== 0 || !run.output.startsWith(`ok: ${size} entries`)) throw new Error(`veritrail verify failed (exit ${run.code}): ${run.output}`);
    const rate = size / run.seconds;
    const own = /\((\d+) entries\/s\)/.exec(run.output)?.[1];
    const mib = fs.statSync(file).size / 2 ** 20;
    ctx.details[this.name] = { size, fileMiB: mib, seconds: run.seconds, rate, cliReportedRate: own ? Number(own) : null, output: run.output };
    ctx.log(`verify: ${size} events in ${run.seconds.toFixed(2)} s (${Math.round(rate)} events/s; the CLI's own timer says ${own} entries/s)`);
    const events = size >= 1e6 ? `${size / 1e6}M` : `${size / 1e3}k`;
    return [
      {
        id: 'verify.offline.events_per_s',
        scenario: this.name,
        label: `Offline verify of a ${events}-event export`,
        value: rate,
        unit: 'events/s',
        targets: [atLeast(500_000)],
        note: `${mib.toFixed(0)} MiB file, ${run.seconds.toFixed(2)} s wall clock including process start; the CLI's own timer: ${own} events/s`,
      },
    ];
  },
};
