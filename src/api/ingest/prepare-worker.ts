/**
 * The body of a prepare worker thread: receives raw request bodies (and the project's audit
 * configuration, when it drops anything), answers with packed prepared items or a refusal. See
 * prepare-pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { INGEST_LIMITS, packItems, prepareBody, type BodyKind } from '../../log/prepare.ts';
import { AuditPolicies, type VersionedAuditConfig } from '../../policy/audit-policies.ts';
import { policyDecider } from '../../policy/audit-policy.ts';

export interface PrepareJob {
  id: number;
  projectId: string;
  body: ArrayBuffer;
  kind: BodyKind;
  receivedAt: string;
  /** The project's audit configuration and its version, unless it records everything. */
  policy?: VersionedAuditConfig;
}

/**
 * Each project's policy compiled once per version here too. Jobs bring their configuration, so
 * nothing is ever loaded (the loader is never called); a job carrying a version older than one
 * already seen (a request that raced a configuration change) gets the newer policy.
 */
const policies = new AuditPolicies(async () => undefined);

parentPort!.on('message', (job: PrepareJob) => {
  try {
    const decide = job.policy ? policyDecider(policies.put(job.projectId, job.policy)) : undefined;
    const outcome = prepareBody(job.projectId, new Uint8Array(job.body), job.kind, job.receivedAt, INGEST_LIMITS, decide);
    if (outcome.ok) {
      const packed = packItems(outcome.items);
      parentPort!.postMessage({ id: job.id, ok: true, single: outcome.single, packed }, [packed]);
    } else {
      parentPort!.postMessage({ id: job.id, ok: false, refusal: outcome });
    }
  } catch (error) {
    parentPort!.postMessage({ id: job.id, failed: String((error as Error)?.stack ?? error) });
  }
});
