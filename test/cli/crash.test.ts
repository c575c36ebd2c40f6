/**
 * Crash safety: a real server process is killed with `kill -9` while 8 clients post events.
 * After a restart, every acknowledged event is at its acknowledged index with its acknowledged
 * leaf hash, the export verifies offline, and fsck passes. Three kill cycles on one data dir.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { api, runCli, startServer } from '../helpers/server-process.ts';
import { tempDir } from '../helpers/stores.ts';
import { verifyExport } from '../../src/log/export-verifier.ts';
import { parseVerifierKey } from '../../src/log/signed-note.ts';
import { splitLines } from '../../src/core/lines.ts';

interface Ack {
  eventId: string;
  index: number;
  leafHash: string;
}

async function* once(buffer: Buffer) {
  yield buffer;
}

describe('crash safety', () => {
  it('kill -9 during concurrent ingest loses no acknowledged event', async (t) => {
    const dataDir = tempDir('vt-crash-');
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    let server = await startServer(dataDir);
    const org = server.firstKey!;
    const project = (await (await api(`${server.url}/v1/projects`, org, 'POST', { name: 'crash' })).json()) as { id: string };
    const acks: Ack[] = [];
    let sent = 0;

    for (let cycle = 0; cycle < 3; cycle++) {
      const url = `${server.url}/v1/projects/${project.id}/events`;
      let stop = false;
      const client = async (c: number) => {
        for (let i = 0; !stop; i++) {
          // Half the clients post single events, half batches of 5; every event has its own id.
          const events = Array.from({ length: c % 2 === 0 ? 1 : 5 }, (_, k) => ({ eventId: `c${cycle}-${c}-${i}-${k}`, client: c, i, k, pad: 'x'.repeat(200) }));
          sent += events.length;
          try {
            const response = await api(url, org, 'POST', events.length === 1 ? events[0] : events);
            if (response.status !== 201) continue;
            const body = (await response.json()) as Ack | Ack[];
            acks.push(...(Array.isArray(body) ? body : [body]));
          } catch {
            return; // the server is gone
          }
        }
      };
      const clients = Array.from({ length: 8 }, (_, c) => client(c));
      await new Promise((resolve) => setTimeout(resolve, 700 + cycle * 300));
      await server.kill9();
      stop = true;
      await Promise.all(clients);
      server = await startServer(dataDir);
    }

    // Every acknowledged event is where its receipt said, with the same leaf hash.
    const exported = Buffer.from(await (await api(`${server.url}/v1/projects/${project.id}/export`, org)).arrayBuffer());
    const lines = exported.toString().trimEnd().split('\n');
    const byIndex = new Map(lines.slice(0, -1).map((line) => {
      const entry = JSON.parse(line) as Ack;
      return [entry.index, entry] as const;
    }));
    assert.ok(acks.length > 100, `only ${acks.length} events were acknowledged`);
    for (const ack of acks) {
      const entry = byIndex.get(ack.index);
      assert.ok(entry, `acknowledged index ${ack.index} is missing`);
      assert.equal(entry.eventId, ack.eventId, `index ${ack.index}`);
      assert.equal(entry.leafHash, ack.leafHash, `index ${ack.index}`);
    }
    const { vkey } = (await (await fetch(`${server.url}/v1/log/key`)).json()) as { vkey: string };
    const verified = await verifyExport(splitLines(once(exported)), parseVerifierKey(vkey));
    assert.ok(verified.ok, verified.problem);
    t.diagnostic(`${sent} events sent, ${acks.length} acknowledged, ${verified.entries} in the log after 3 kill -9 cycles`);

    assert.equal(await server.stop(), 0);
    const fsck = runCli(['fsck', '--data', dataDir]);
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    assert.match(fsck.stdout, /^ok /m);
  });
});
