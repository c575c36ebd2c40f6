/**
 * Worker threads for the CPU-heavy part of ingest (log/prepare.ts), with the audit policy
 * applied where the events are parsed. On the reference machine (2
 * cores) parsing, canonicalising and hashing a batch costs more main-thread time than its
 * durable commit; moving it off the main thread lets one core prepare the next batches while
 * the other runs HTTP and the sequencer. Small bodies stay inline, where a thread hop costs more
 * than it saves.

 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../core/ts-worker.ts';
import { unpackItems, type BodyKind, type PrepareOutcome } from '../../log/prepare.ts';
import type { PrepareJob } from './prepare-worker.ts';

/** Bodies at least this large are prepared in a worker; smaller ones inline. */
export const DEFAULT_PREPARE_WORKER_MIN_BYTES = 32 * 1024;

/** Workers by default: all cores but the one the main thread needs. */
export function defaultPrepareWorkers(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

interface Pending {
  receivedAt: string;
  resolve(outcome: PrepareOutcome): void;
  reject(error: unknown): void;
}

export class PreparePool {
  private readonly workers: Worker[] = [];
  /** Jobs sent and not answered, by id; each worker's own map, so a crash fails only its jobs. */
  private readonly pending = new Map<Worker, Map<number, Pending>>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly size: number) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): Worker {
    const worker = startTsWorker('src/api/ingest/prepare-worker.ts');
    const jobs = new Map<number, Pending>();
    this.pending.set(worker, jobs);
    worker.unref();
    worker.on('message', (message: { id: number; ok?: boolean; single?: boolean; packed?: ArrayBuffer; refusal?: PrepareOutcome; failed?: string }) => {
      const job = jobs.get(message.id);
      if (!job) return;
      jobs.delete(message.id);
      if (message.failed) job.reject(new Error(`couldn't prepare events in a worker: ${message.failed}`));
      else if (message.ok) job.resolve({ ok: true, single: message.single!, items: unpackItems(message.packed!, job.receivedAt) });
      else job.resolve(message.refusal!);
    });
    const fail = (error: unknown) => {
      for (const job of jobs.values()) job.reject(error);
      jobs.clear();
      this.pending.delete(worker);
      const at = this.workers.indexOf(worker);
      if (at >= 0) this.workers.splice(at, 1);
      if (!this.closed) this.spawn(); // keep the pool at size
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.pending.has(worker)) fail(new Error(`prepare worker exited with code ${code}`));
    });
    this.workers.push(worker);
    return worker;
  }

  /**
   * Prepares a body within INGEST_LIMITS in the least busy worker. The body is copied, so the
   * caller keeps its buffer.
   */
  prepare(projectId: string, body: Uint8Array, kind: BodyKind, receivedAt: string, policy?: PrepareJob['policy']): Promise<PrepareOutcome> {
    if (this.closed) return Promise.reject(new Error('the prepare pool is closed'));
    let worker = this.workers[0]!;
    for (const candidate of this.workers) if (this.pending.get(candidate)!.size < this.pending.get(worker)!.size) worker = candidate;
    const copy = new Uint8Array(body.byteLength);
    copy.set(body);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.get(worker)!.set(id, { receivedAt, resolve, reject });
      if (this.pending.get(worker)!.size === 1) worker.ref();
      const job: PrepareJob = { id, projectId, body: copy.buffer as ArrayBuffer, kind, receivedAt, ...(policy ? { policy } : {}) };
      worker.postMessage(job, [job.body]);
    }).finally(() => {
      if (this.pending.get(worker)?.size === 0) worker.unref();
    }) as Promise<PrepareOutcome>;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
