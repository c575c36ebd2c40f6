/**
 * The body of a prepare worker thread: receives raw request bodies, answers with packed
 * prepared events or a refusal. See prepare-pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { packEvents, prepareBody, type BodyKind, type PrepareLimits } from './prepare.ts';

export interface PrepareJob {
  id: number;
  projectId: string;
  body: ArrayBuffer;
  kind: BodyKind;
  receivedAt: string;
  limits: PrepareLimits;
}

parentPort!.on('message', (job: PrepareJob) => {
  try {
    const outcome = prepareBody(job.projectId, new Uint8Array(job.body), job.kind, job.receivedAt, job.limits);
    if (outcome.ok) {
      const packed = packEvents(outcome.events);
      parentPort!.postMessage({ id: job.id, ok: true, single: outcome.single, packed }, [packed]);
    } else {
      parentPort!.postMessage({ id: job.id, ok: false, refusal: outcome });
    }
  } catch (error) {
    parentPort!.postMessage({ id: job.id, failed: String((error as Error)?.stack ?? error) });
  }
});
