/**
 * Inclusion and consistency proofs over large logs built straight into a store
 * (bench/lib/datasets.ts, cached): first in process through TreeReader (µs per proof, random
 * leaves, tile cache warmed by a first pass), then over HTTP through a real `veritrail serve`
 * (proofs/s, 16 keep-alive connections). A sample of the proofs is checked against the signed
 * root, so what is timed is a proof that verifies.
 */
import { verifyConsistency, verifyInclusion } from '../../src/log/merkle.ts';
import { TreeReader } from '../../src/log/tree-reader.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { BenchContext } from '../lib/context.ts';
import { treeDataset, type Dataset } from '../lib/datasets.ts';
import { atMost, type Figure } from '../lib/figures.ts';
import { describeErrors } from '../lib/load.ts';
import { measureLoad } from '../lib/measure.ts';
import type { Scenario } from '../lib/scenario.ts';
import { prng, Samples, summarise, type Summary } from '../lib/stats.ts';

const HTTP_CONNECTIONS = 16;
const HTTP_DISTINCT_PATHS = 10_000;
const CHECKED = 20;
/** The issue's target applies at 10M leaves. */
const TARGET_SIZE = 10_000_000;

type Kind = 'inclusion' | 'consistency';
const KINDS: Kind[] = ['inclusion', 'consistency'];

/** A random proof request for a tree of `size`: a leaf index, or an old size. */
const pickArgument = (kind: Kind, size: number, r: () => number) => (kind === 'inclusion' ? Math.floor(r() * size) : 1 + Math.floor(r() * (size - 1)));

async function inProcess(ctx: BenchContext, dataset: Dataset): Promise<Record<Kind, Summary>> {
  const store = new SqliteStore({ dataDir: dataset.dir, readOnly: true });
  try {
    const reader = new TreeReader(store);
    const { projectId, size } = dataset;
    const root = (await store.latestCheckpoint(projectId))!.rootHash;
    const count = ctx.pick({ quick: 3_000, full: 10_000 });
    const result = {} as Record<Kind, Summary>;
    for (const kind of KINDS) {
      const r = prng(size ^ kind.length);
      const prove = (arg: number) => (kind === 'inclusion' ? reader.inclusionProof(projectId, arg, size) : reader.consistencyProof(projectId, arg, size));
      for (let i = 0; i < count / 4; i++) await prove(pickArgument(kind, size, r)); // warm the tile cache and the JIT
      const samples = new Samples();
      for (let i = 0; i < count; i++) {
        const arg = pickArgument(kind, size, r);
        const started = performance.now();
        const proof = await prove(arg);
        samples.push((performance.now() - started) * 1000);
        if (i < CHECKED) await check(reader, kind, projectId, arg, size, proof, root);
      }
      result[kind] = summarise(samples.values());
    }
    return result;
  } finally {
    await store.close();
  }
}

async function check(reader: TreeReader, kind: Kind, projectId: string, arg: number, size: number, proof: Buffer[], root: Buffer): Promise<void> {
  const ok =
    kind === 'inclusion'
      ? verifyInclusion(arg, size, (await reader.leafHashes(projectId, arg, arg + 1, size))[0]!, proof, root)
      : verifyConsistency(arg, size, await reader.root(projectId, arg), root, proof);
  if (!ok) throw new Error(`a ${kind} proof (${arg}, ${size}) did not verify against the signed root`);
}

async function overHttp(ctx: BenchContext, dataset: Dataset): Promise<Record<Kind, { rate: number; note: string }>> {
  const server = await ctx.startServer(dataset.dir);
  try {
    const result = {} as Record<Kind, { rate: number; note: string }>;
    for (const kind of KINDS) {
      const r = prng(dataset.size + kind.length);
      const base = `/v1/projects/${dataset.projectId}/log/proof/${kind}`;
      const paths = Array.from({ length: HTTP_DISTINCT_PATHS }, () => {
        const arg = pickArgument(kind, dataset.size, r);
        return kind === 'inclusion' ? `${base}?index=${arg}&treeSize=${dataset.size}` : `${base}?from=${arg}&to=${dataset.size}`;
      });
      const measured = await measureLoad(server, {
        host: server.host,
        port: server.port,
        connections: HTTP_CONNECTIONS,
        warmupSeconds: ctx.pick({ quick: 0.5, full: 1 }),
        seconds: ctx.pick({ quick: 2, full: 5 }),
        expectStatus: 200,
        requests: { kind: 'get', paths, authorization: `Bearer ${dataset.orgKey}` },
      });
      const errors = describeErrors(measured.load, 200);
      const latency = measured.load.latencyUs;
      result[kind] = {
        rate: measured.load.okRate,
        note: `${HTTP_CONNECTIONS} connections; p50 ${(latency.p50 / 1000).toFixed(2)} ms, p99 ${(latency.p99 / 1000).toFixed(2)} ms; server ${(measured.serverCpu * 100).toFixed(0)}% CPU${errors ? `; not counted: ${errors}` : ''}`,
      };
      ctx.log(`${kind} proofs over HTTP at ${dataset.size}: ${Math.round(measured.load.okRate)}/s (${result[kind].note})`);
    }
    return result;
  } finally {
    await server.stop();
  }
}

export const proofs: Scenario = {
  name: 'proofs',
  description: 'inclusion and consistency proofs at 1M and 10M leaves: p50/p99 µs in process, proofs/s over HTTP',
  async run(ctx) {
    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    for (const size of ctx.pick({ quick: [1_000_000], full: [1_000_000, TARGET_SIZE] })) {
      const dataset = await treeDataset(ctx, size);
      const local = await inProcess(ctx, dataset);
      const http = await overHttp(ctx, dataset);
      details[size] = { dataset: { ...dataset, orgKey: undefined }, inProcessUs: local, http };
      const leaves = size >= 1e6 ? `${size / 1e6}M` : String(size);
      for (const kind of KINDS) {
        const name = kind === 'inclusion' ? 'Inclusion' : 'Consistency';
        ctx.log(`${kind} proofs at ${leaves}: p50 ${local[kind].p50.toFixed(0)} µs, p99 ${local[kind].p99.toFixed(0)} µs`);
        const id = `proofs.${kind}.${leaves}`;
        figures.push(
          { id: `${id}.p50_us`, scenario: this.name, label: `${name} proof p50, ${leaves} leaves (in process)`, value: local[kind].p50, unit: 'µs' },
          {
            id: `${id}.p99_us`,
            scenario: this.name,
            label: `${name} proof p99, ${leaves} leaves (in process)`,
            value: local[kind].p99,
            unit: 'µs',
            ...(size === TARGET_SIZE ? { targets: [atMost(1000)] } : {}),
          },
          { id: `${id}.http_per_s`, scenario: this.name, label: `${name} proofs over HTTP, ${leaves} leaves`, value: http[kind].rate, unit: 'proofs/s', note: http[kind].note },
        );
      }
    }
    ctx.details[this.name] = details;
    return figures;
  },
};
