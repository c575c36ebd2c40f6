/**
 * Forwarding keeps up with ingest (issue 7: at 20,000 events/s or more): bench/forwarding.ts in
 * a child process, a real node taking events through the appender from 8 producers while one
 * destination forwards them to a local sink (a syslog TCP listener with octet-counted frames,
 * then a webhook HTTP server) in another process. The figure is the forwarding rate over the
 * whole run (first event in to last event out), beside the ingest rate of the same run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { atLeast, type Figure } from '../lib/figures.ts';
import type { Scenario } from '../lib/scenario.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'forwarding.ts');

interface ForwardingRun {
  sink: string;
  events: number;
  ingestPerSecond: number;
  forwardPerSecond: number;
  lagWhenIngestEnded: number;
  drainAfterIngestMs: number;
  finalLagEvents: number;
}

function run(sink: 'syslog' | 'webhook', events: number): Promise<ForwardingRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, sink, String(events)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`bench/forwarding.ts ${sink} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as ForwardingRun);
    }),
  );
}

export const forwarding: Scenario = {
  name: 'forwarding',
  description: 'forwarding to a local syslog and webhook sink while ingesting: events/s delivered',
  async run(ctx) {
    const events = ctx.pick({ quick: 100_000, full: 300_000 });
    const figures: Figure[] = [];
    const details: Record<string, ForwardingRun> = {};
    for (const sink of ['syslog', 'webhook'] as const) {
      const result = await run(sink, events);
      details[sink] = result;
      ctx.log(`forwarding to ${sink}: ${Math.round(result.forwardPerSecond)} events/s delivered while ingesting ${Math.round(result.ingestPerSecond)}/s; all delivered ${result.drainAfterIngestMs} ms after ingest ended`);
      figures.push({
        id: `forwarding.${sink}.events_per_s`,
        scenario: this.name,
        label: `Forwarding to a local ${sink} sink while ingesting`,
        value: result.forwardPerSecond,
        unit: 'events/s',
        baseline: { label: 'ingest, same run', value: result.ingestPerSecond },
        targets: [atLeast(20_000)],
        note: `${result.events} events; ${result.lagWhenIngestEnded} behind when ingest ended, none ${result.drainAfterIngestMs} ms later`,
      });
    }
    ctx.details[this.name] = details;
    return figures;
  },
};
