/**
 * Several Veritrail nodes on one PostgreSQL database, as real `veritrail serve` processes.
 *
 *  - Three nodes take concurrent writers; one is killed with `kill -9` mid-ingest. The others go
 *    on within the lease, no acknowledged event is lost, every receipt from every node is in the
 *    one export that the final checkpoint signs, the nodes' checkpoints are consistent with
 *    each other, and `veritrail fsck --store` passes.
 *  - Two nodes race to sequence the same log, with the same event ids sent to both at once: one
 *    history (indexes unique and contiguous, each id once, one receipt per id whichever node
 *    answered), and checkpoints from both nodes that prove consistent with one another.
 *  - Three nodes forward one destination: one node delivers at a time (no event twice while all
 *    run), and when it is killed another takes over within the lease (and the survivors' polling
 *    of it), resending at most the batch that was in flight; full-text search answers the same
 *    on every node.
 *
 * Every request a writer sends must be answered 201, except those left unanswered by a node
 * from the moment it was killed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { api, runCli, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { postgresCluster } from '../helpers/postgres.ts';
import { ENGINES, tempDir } from '../helpers/stores.ts';
import { verifyExport } from '../../src/log/export-verifier.ts';
import { generateSigner, openNote, parseVerifierKey } from '../../src/log/signed-note.ts';
import { parseCheckpoint, type Checkpoint } from '../../src/log/checkpoint.ts';
import { verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';
import { splitLines } from '../../src/core/lines.ts';
import { DEFAULT_POSTGRES_LEASE_MS } from '../../src/store/postgres/postgres-config.ts';
import { SEQUENCER_NAMESPACE } from '../../src/store/postgres/postgres-sequencer-lock.ts';
import { DEFAULT_FORWARD_BATCH_EVENTS } from '../../src/forward/destination-worker.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';
import { deliveryProblem, duplicates } from '../helpers/delivery-order.ts';
import { waitUntil } from '../helpers/wait.ts';

interface Ack {
  eventId: string;
  index: number;
  leafHash: string;
}

interface Cluster {
  url: string;
  env: Record<string, string>;
  dirs: string[];
  start(): Promise<ServerProcess>;
}

/** A fresh database and the settings every node on it shares (one checkpoint key). */
async function sharedStore(t: { after(fn: () => unknown): void }, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const cluster = await postgresCluster();
  const url = await cluster.createDatabase();
  const dirs: string[] = [];
  t.after(async () => {
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    await cluster.dropDatabase(url);
  });
  const env = { VERITRAIL_CHECKPOINT_KEY: generateSigner('crash.test').signerText, VERITRAIL_SERVER_SECRET: randomBytes(32).toString('base64'), ...extraEnv };
  return {
    url,
    env,
    dirs,
    async start() {
      const dir = tempDir('vt-node-');
      dirs.push(dir);
      return startServer(dir, env, ['--store', url]);
    },
  };
}

async function* once(buffer: Buffer) {
  yield buffer;
}

/** Exports the log through `node`, checks it offline and returns its lines by index. */
async function exportAndVerify(node: ServerProcess, key: string, projectId: string): Promise<{ byIndex: Map<number, Ack>; checkpoint: Checkpoint; vkey: string }> {
  const exported = Buffer.from(await (await api(`${node.url}/v1/projects/${projectId}/export`, key)).arrayBuffer());
  const { vkey } = (await (await fetch(`${node.url}/v1/log/key`)).json()) as { vkey: string };
  const verified = await verifyExport(splitLines(once(exported)), parseVerifierKey(vkey));
  assert.ok(verified.ok && verified.checkpoint, verified.problem);
  // The verifier proved the entries are the checkpoint's tree; their indexes and ids are ours to check.
  const entries = exported.toString().trimEnd().split('\n').slice(0, -1).map((line) => JSON.parse(line) as Ack);
  assert.deepEqual(
    entries.map((e) => e.index),
    entries.map((_, i) => i),
    'indexes are unique and contiguous',
  );
  assert.equal(new Set(entries.map((e) => e.eventId)).size, entries.length, 'each event id is in the log once');
  return { byIndex: new Map(entries.map((e) => [e.index, e])), checkpoint: verified.checkpoint, vkey };
}

/** Every receipt is in the log where it said, with the leaf hash it gave. */
function assertAcksInLog(acks: Iterable<Ack>, byIndex: Map<number, Ack>): void {
  for (const ack of acks) {
    const entry = byIndex.get(ack.index);
    assert.ok(entry, `acknowledged index ${ack.index} is missing`);
    assert.equal(entry.eventId, ack.eventId, `index ${ack.index}`);
    assert.equal(entry.leafHash, ack.leafHash, `index ${ack.index}`);
  }
}

/** Fetches a node's checkpoint, verified under `vkey`. */
async function checkpointOf(node: ServerProcess, key: string, projectId: string, vkey: string): Promise<Checkpoint> {
  const note = await (await api(`${node.url}/v1/projects/${projectId}/log/checkpoint`, key)).text();
  return parseCheckpoint(openNote(note, [parseVerifierKey(vkey)]));
}

/** `older` and `newer` (from any nodes) are two views of one history: a consistency proof links them. */
async function assertConsistent(node: ServerProcess, key: string, projectId: string, older: Checkpoint, newer: Checkpoint): Promise<void> {
  let proof: Buffer[] = [];
  if (older.size > 0 && older.size < newer.size) {
    const body = (await (await api(`${node.url}/v1/projects/${projectId}/log/proof/consistency?from=${older.size}&to=${newer.size}`, key)).json()) as { hashes: string[] };
    proof = body.hashes.map((h) => Buffer.from(h, 'base64'));
  }
  assert.ok(verifyConsistency(older.size, newer.size, older.root, newer.root, proof), `checkpoint ${older.size} is consistent with ${newer.size}`);
}

/** A request a writer sent that was not answered 201: its status and body, or `no answer` and why. */
interface Failure {
  /** When the request was sent and when it failed. */
  sentAt: number;
  at: number;
  status: number | 'no answer';
  body: string;
}

/**
 * A writer that posts batches to one node until `stop()`, or until a request gets no answer
 * (the node is gone); returns its receipts with the times each request was sent and answered,
 * and every request that was not answered 201. Ids are its own unless `shared` names ids that
 * other writers send too.
 */
function writer(node: ServerProcess, key: string, projectId: string, name: string, shared?: (i: number) => string) {
  let stopped = false;
  const acks: Array<Ack & { sentAt: number; at: number }> = [];
  const failures: Failure[] = [];
  const done = (async () => {
    for (let i = 0; !stopped; i++) {
      const events: object[] = Array.from({ length: 1 + (i % 5) }, (_, k) => ({ eventId: `${name}-${i}-${k}`, writer: name, pad: 'x'.repeat(200) }));
      // Shared ids carry the same content from every writer, so every node must give one receipt.
      if (shared) events.push({ eventId: shared(i), shared: true });
      const sentAt = Date.now();
      try {
        const response = await api(`${node.url}/v1/projects/${projectId}/events`, key, 'POST', events);
        if (response.status !== 201) {
          failures.push({ sentAt, at: Date.now(), status: response.status, body: await response.text() });
          continue;
        }
        const receipts = (await response.json()) as Ack[];
        const at = Date.now();
        for (const ack of receipts) acks.push({ ...ack, sentAt, at });
      } catch (error) {
        failures.push({ sentAt, at: Date.now(), status: 'no answer', body: `${String(error)} (${String((error as Error).cause)})` });
        return;
      }
    }
  })();
  return {
    name,
    node,
    acks,
    failures,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

type Writer = ReturnType<typeof writer>;

/** Every request was answered 201, except those a node `killed` left unanswered from `since` on. */
function assertAnswered(writers: readonly Writer[], killed?: { node: ServerProcess; since: number }): void {
  for (const w of writers) {
    const excused = (f: Failure) => killed !== undefined && w.node === killed.node && f.status === 'no answer' && f.at >= killed.since;
    assert.deepEqual(
      w.failures.filter((f) => !excused(f)),
      [],
      `every request of writer ${w.name} was answered 201`,
    );
  }
}

/**
 * The indexes of every result of a full-text search through `node`, newest first, once the
 * search index has caught up with the log (after its indexing node is killed, another takes
 * over only when its search lease runs out; meanwhile the first page reports a lag).
 */
async function searchAll(node: ServerProcess, key: string, projectId: string, q: string): Promise<number[]> {
  return waitUntil(
    async () => {
      const found: number[] = [];
      for (let cursor: string | null = ''; cursor !== null; ) {
        const response = await api(`${node.url}/v1/projects/${projectId}/events?q=${q}&limit=1000${cursor && `&cursor=${encodeURIComponent(cursor)}`}`, key);
        if (!cursor && response.headers.get('x-veritrail-search-lag') !== '0') return undefined;
        const page = (await response.json()) as { results: Array<{ index: number }>; next: string | null };
        found.push(...page.results.map((r) => r.index));
        cursor = page.next;
      }
      return found;
    },
    `the search index as seen by ${node.url} to catch up`,
    60_000,
    500,
  );
}

describe('several nodes on one PostgreSQL', { skip: !ENGINES.includes('postgres') && 'VERITRAIL_TEST_ENGINES leaves out postgres' }, () => {
  it('three nodes, concurrent writers, one kill -9: nothing acknowledged is lost and every receipt verifies against one checkpoint', async (t) => {
    const shared = await sharedStore(t);
    const admin = new pg.Client({ connectionString: (await postgresCluster()).adminUrl });
    await admin.connect();
    t.after(() => admin.end());
    // The first node starts alone on the empty store and makes the first key (README).
    const first = await shared.start();
    const org = first.firstKey!;
    const project = (await (await api(`${first.url}/v1/projects`, org, 'POST', { name: 'multi' })).json()) as { id: string };
    const nodes = [first, await shared.start(), await shared.start()];
    t.after(() => Promise.all(nodes.map((n) => (n.child.exitCode === null ? n.kill9() : undefined))));
    assert.equal(nodes[1]!.firstKey, undefined, 'only the first node on an empty store makes a first key');

    const writers = nodes.flatMap((node, n) => Array.from({ length: 3 }, (_, w) => writer(node, org, project.id, `n${n}w${w}`)));
    await waitUntil(() => writers.every((w) => w.acks.length > 0), 'a receipt for every writer', 60_000);

    // Kill the second node mid-batch: while it holds the log's sequencer lock. It is frozen
    // (SIGSTOP) once PostgreSQL shows the lock granted to one of its sessions; frozen, it can
    // release nothing, so if the lock is still granted a moment later (time for PostgreSQL to
    // finish what the node had already sent, such as its unlock), it is held at the kill.
    const victim = nodes[1]!;
    const victimName = `veritrail ${os.hostname()} ${victim.child.pid}`.slice(0, 63);
    const sessions = () => admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [victimName]).then((r) => r.rows[0].n as number);
    const holdsSequencerLock = () =>
      admin
        .query(
          `SELECT count(*)::int AS n FROM pg_locks JOIN pg_stat_activity USING (pid)
           WHERE application_name = $1 AND locktype = 'advisory' AND classid = $2::oid AND objsubid = 2 AND granted`,
          [victimName, SEQUENCER_NAMESPACE],
        )
        .then((r) => (r.rows[0].n as number) > 0);
    let frozenAt = 0;
    await waitUntil(
      async () => {
        if (!(await holdsSequencerLock())) return false;
        frozenAt = Date.now();
        victim.child.kill('SIGSTOP');
        await sleep(100);
        if (await holdsSequencerLock()) return true;
        victim.child.kill('SIGCONT');
        return false;
      },
      'the second node holding the sequencer lock',
      60_000,
    );
    const killStarted = Date.now();
    await victim.kill9();
    const killedAt = Date.now();
    // PostgreSQL ends the dead node's sessions (rolling back, unlocking) within the lease.
    await waitUntil(async () => (await sessions()) === 0, "the end of the dead node's sessions", DEFAULT_POSTGRES_LEASE_MS);
    const sessionsGoneAfter = Date.now() - killStarted;

    // The survivors go on: every writer of theirs is answered for a request sent after the kill.
    const survivors = writers.filter((w) => w.node !== victim);
    const sentAfterKill = (w: Writer) => w.acks.filter((ack) => ack.sentAt >= killedAt);
    await waitUntil(() => survivors.every((w) => sentAfterKill(w).length > 0), 'receipts from the surviving nodes after the kill', 60_000);
    await Promise.all(writers.map((w) => w.stop()));
    assertAnswered(writers, { node: victim, since: frozenAt });
    // The first of those receipts came within the lease (the lock died with the dead node).
    const firstAfterKill = Math.min(...survivors.flatMap((w) => sentAfterKill(w).map((ack) => ack.at))) - killedAt;
    assert.ok(firstAfterKill < DEFAULT_POSTGRES_LEASE_MS, `held back ${firstAfterKill} ms`);

    const acks = writers.flatMap((w) => w.acks);
    const { byIndex, checkpoint, vkey } = await exportAndVerify(nodes[0]!, org, project.id);
    assert.ok(writers.every((w) => w.acks.length > 0), 'every writer, through every node, was acknowledged');
    assertAcksInLog(acks, byIndex);

    // Receipts from every node verify against the one final checkpoint: inclusion proofs served
    // by the third node, and its own checkpoint consistent with the first node's.
    for (const ack of acks.filter((_, i) => i % Math.ceil(acks.length / 20) === 0)) {
      const body = (await (await api(`${nodes[2]!.url}/v1/projects/${project.id}/log/proof/inclusion?index=${ack.index}&treeSize=${checkpoint.size}`, org)).json()) as { hashes: string[] };
      const proof = body.hashes.map((h) => Buffer.from(h, 'base64'));
      assert.ok(verifyInclusion(ack.index, checkpoint.size, Buffer.from(ack.leafHash, 'hex'), proof, checkpoint.root), `inclusion of ${ack.index}`);
    }
    const third = await checkpointOf(nodes[2]!, org, project.id, vkey);
    await assertConsistent(nodes[2]!, org, project.id, third.size <= checkpoint.size ? third : checkpoint, third.size <= checkpoint.size ? checkpoint : third);
    t.diagnostic(
      `${acks.length} events acknowledged by 3 nodes; after the kill -9 mid-batch, PostgreSQL had ended the dead node's sessions within ${sessionsGoneAfter} ms and the survivors' first receipt for a request sent after it came after ${firstAfterKill} ms; log size ${checkpoint.size}`,
    );

    // The killed node comes back (its start-up check passes), then everyone stops and fsck runs.
    nodes[1] = await shared.start();
    for (const node of nodes) assert.equal(await node.stop(), 0);
    const fsck = runCli(['fsck', '--store', shared.url, '--key', vkey]);
    assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
    assert.match(fsck.stdout, new RegExp(`^ok +${project.id}`, 'm'));
  });

  it('two nodes racing to sequence one log produce one history', async (t) => {
    const shared = await sharedStore(t);
    const a = await shared.start();
    const org = a.firstKey!;
    const project = (await (await api(`${a.url}/v1/projects`, org, 'POST', { name: 'race' })).json()) as { id: string };
    const b = await shared.start();
    t.after(() => Promise.all([a, b].map((n) => (n.child.exitCode === null ? n.kill9() : undefined))));
    const { vkey } = (await (await fetch(`${a.url}/v1/log/key`)).json()) as { vkey: string };
    assert.equal(((await (await fetch(`${b.url}/v1/log/key`)).json()) as { vkey: string }).vkey, vkey, 'both nodes sign with one key');

    // Eight writers per node; every request also carries one of 40 ids that all writers send.
    const writers = [a, b].flatMap((node, n) => Array.from({ length: 8 }, (_, w) => writer(node, org, project.id, `n${n}w${w}`, (i) => `shared-${(i * 7 + w) % 40}`)));
    // Once both nodes are sequencing, checkpoints from both nodes, alternately, for two seconds.
    await waitUntil(() => writers.every((w) => w.acks.length > 0), 'a receipt for every writer', 60_000);
    const checkpoints: Checkpoint[] = [];
    const deadline = Date.now() + 2000;
    for (let i = 0; Date.now() < deadline; i++) {
      checkpoints.push(await checkpointOf(i % 2 === 0 ? a : b, org, project.id, vkey));
      await sleep(100);
    }
    await Promise.all(writers.map((w) => w.stop()));
    // Neither node refused a request, the ids that the other node had just stored included.
    assertAnswered(writers);

    const acks = writers.flatMap((w) => w.acks);
    const { byIndex, checkpoint } = await exportAndVerify(a, org, project.id);
    assertAcksInLog(acks, byIndex);
    const byId = new Map<string, number>();
    for (const ack of acks) {
      assert.equal(byId.get(ack.eventId) ?? ack.index, ack.index, `one receipt for ${ack.eventId}`);
      byId.set(ack.eventId, ack.index);
    }
    // Both nodes really sequenced: the log interleaves runs of entries from each.
    const writerOf = (i: number) => /^n(\d)/.exec(byIndex.get(i)!.eventId)?.[1];
    let switches = 0;
    for (let i = 1; i < checkpoint.size; i++) if (writerOf(i) && writerOf(i - 1) && writerOf(i) !== writerOf(i - 1)) switches++;
    assert.ok(switches >= 2, `the two nodes' entries interleave (${switches} switches)`);

    checkpoints.push(checkpoint, await checkpointOf(b, org, project.id, vkey));
    checkpoints.sort((x, y) => x.size - y.size);
    for (let i = 1; i < checkpoints.length; i++) await assertConsistent(i % 2 === 0 ? a : b, org, project.id, checkpoints[i - 1]!, checkpoints[i]!);
    t.diagnostic(`${acks.length} receipts, ${checkpoint.size} entries, ${switches} switches between the nodes' runs, ${checkpoints.length} checkpoints consistent`);
    for (const node of [a, b]) assert.equal(await node.stop(), 0);
  });

  it('three nodes forward one destination: one delivers at a time, another takes over after kill -9; search agrees on every node', async (t) => {
    const SECRET = 'a-webhook-secret-of-some-length';
    const receiver = await startWebhookReceiver(SECRET);
    t.after(() => receiver.close());
    const LEASE_MS = 3000;
    /** Room for a busy two-core machine, on top of the lease and the survivors' polling of it. */
    const TAKEOVER_MARGIN_MS = 3000;
    const shared = await sharedStore(t, { VERITRAIL_FORWARD_LEASE_MS: String(LEASE_MS) });
    const admin = new pg.Client({ connectionString: shared.url });
    admin.on('error', () => {}); // ended by the database's drop if the test fails
    await admin.connect();
    const first = await shared.start();
    const org = first.firstKey!;
    const project = (await (await api(`${first.url}/v1/projects`, org, 'POST', { name: 'forward' })).json()) as { id: string };
    const nodes = [first, await shared.start(), await shared.start()];
    t.after(() => Promise.all(nodes.map((n) => (n.child.exitCode === null ? n.kill9() : undefined))));
    // Made through the second node; the others learn of it from the store.
    const created = await api(`${nodes[1]!.url}/v1/projects/${project.id}/destinations`, org, 'POST', { kind: 'webhook', url: receiver.url, secret: SECRET, startFrom: 'beginning' });
    assert.equal(created.status, 201, await created.clone().text());
    const destination = ((await created.json()) as { id: string }).id;
    for (const node of nodes) assert.equal((await api(`${node.url}/v1/projects/${project.id}/destinations/${destination}/status`, org)).status, 200);

    const writers = nodes.map((node, n) => writer(node, org, project.id, `n${n}`));
    await waitUntil(() => receiver.events.length >= 500 && writers.every((w) => w.acks.length > 0), 'deliveries while three nodes ingest', 120_000);
    const holderOf = async () => (await admin.query<{ holder: string }>('SELECT holder FROM leases WHERE name = $1', [`forward/${project.id}/${destination}`])).rows[0]!.holder;
    const holder = await holderOf();
    const victim = nodes.findIndex((n) => holder.includes(` ${n.child.pid} `));
    assert.ok(victim >= 0, `the lease holder ${holder} is one of the nodes`);
    const before = receiver.events.map((e) => e.index);
    assert.equal(duplicates(before), 0, 'while every node runs, one delivers: no event arrived twice');
    const killStarted = Date.now();
    await nodes[victim]!.kill9();
    const survivors = nodes.filter((_, i) => i !== victim);

    // Another node takes the destination over once the dead node's lease runs out (it was renewed
    // at most LEASE_MS ago; the others look every LEASE_MS / 4), and delivers: the first event to
    // arrive after the takeover is theirs. The margin is for a busy machine.
    const survivorHolds = async () => {
      const now = await holderOf();
      return survivors.some((n) => now.includes(` ${n.child.pid} `));
    };
    await waitUntil(survivorHolds, 'a surviving node holding the destination', 60_000);
    const arrived = receiver.events.length;
    await waitUntil(() => receiver.events.length > arrived, 'a delivery after the takeover', 60_000);
    const takeover = Date.now() - killStarted;
    assert.ok(takeover < LEASE_MS + LEASE_MS / 4 + TAKEOVER_MARGIN_MS, `the first delivery after the takeover came ${takeover} ms after the kill`);
    await Promise.all(writers.map((w) => w.stop()));
    assertAnswered(writers, { node: nodes[victim]!, since: killStarted });

    // Every acknowledged event arrives, in order; repeats only of the batch in flight at the kill.
    const size = ((await (await api(`${survivors[0]!.url}/v1/projects/${project.id}/destinations/${destination}/status`, org)).json()) as { treeSize: number }).treeSize;
    await waitUntil(() => new Set(receiver.events.map((e) => e.index)).size >= size, `all ${size} events at the receiver`, 120_000);
    const indexes = receiver.events.map((e) => e.index);
    assert.equal(deliveryProblem(indexes, size, DEFAULT_FORWARD_BATCH_EVENTS), undefined);
    const acked = new Set(writers.flatMap((w) => w.acks.map((a) => a.eventId)));
    const received = new Set(receiver.events.map((e) => e.eventId));
    assert.deepEqual([...acked].filter((id) => !received.has(id)), [], 'every acknowledged event was forwarded');
    assert.ok(await survivorHolds(), 'a surviving node holds the destination now');

    await admin.end();

    // Every node indexed for search, sharing one index: each surviving node finds exactly the
    // acknowledged events of one writer (its requests one after another: time follows index).
    const name = `n${(victim + 1) % 3}`;
    const expected = writers
      .flatMap((w) => w.acks)
      .filter((a) => a.eventId.startsWith(`${name}-`))
      .map((a) => a.index)
      .sort((x, y) => y - x);
    assert.ok(expected.length > 0, `writer ${name} was acknowledged`);
    for (const node of survivors) assert.deepEqual(await searchAll(node, org, project.id, name), expected);
    t.diagnostic(`${size} events forwarded by 3 nodes through one destination; the first delivery after the kill -9 came after ${takeover} ms; ${duplicates(indexes)} resent after the deliverer was killed`);
    for (const node of survivors) assert.equal(await node.stop(), 0);
  });
});
