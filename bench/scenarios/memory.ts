/**
 * Resident memory under sustained ingest: batches of 100 events over 16 connections, as fast as
 * the server answers, for 30 s (5 s with --quick) on a fresh server. The figure is VmHWM, the
 * kernel's own peak of the process's resident set since it started, read at the end of the
 * window; VmRSS is also sampled every 250 ms.
 */
import { atMost } from '../lib/figures.ts';
import { describeMeasured, ingestOnFreshServer } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';

export const memory: Scenario = {
  name: 'memory',
  description: 'peak resident memory (VmHWM) of the server during sustained batched ingest',
  async run(ctx) {
    const seconds = ctx.pick({ quick: 5, full: 30 });
    const measured = await ingestOnFreshServer(ctx, { eventsPerRequest: 100, connections: 16, warmupSeconds: 1, seconds });
    ctx.details[this.name] = measured;
    const events = measured.load.ok * measured.load.eventsPerRequest;
    ctx.log(`memory: peak ${measured.peakMiB.toFixed(0)} MiB; ${describeMeasured(measured, 'events/s')}`);
    return [
      {
        id: 'memory.ingest.peak_mib',
        scenario: this.name,
        label: 'Peak resident memory, sustained ingest',
        value: measured.peakMiB,
        unit: 'MiB',
        targets: [atMost(256)],
        note: `${seconds} s of batched ingest, ${events.toLocaleString('en-US')} events; highest sampled VmRSS ${measured.rssMaxMiB.toFixed(0)} MiB`,
      },
    ];
  },
};
