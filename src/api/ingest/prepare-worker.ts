/**
 * The body of a prepare worker thread: receives raw request bodies (and the project's audit
 * configuration, when it drops anything), answers with packed prepared items or a refusal. See
 * prepare-pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { packItems, prepareBody, type BodyKind, type PrepareLimits } from '../../log/prepare.ts';
import type { AuditConfig } from '../../policy/audit-config.ts';
import { compileAuditPolicy, policyDecider, type CompiledAuditPolicy } from '../../policy/audit-policy.ts';

export interface PrepareJob {
  id: number;
  projectId: string;
  body: ArrayBuffer;
  kind: BodyKind;
  receivedAt: string;
  limits: PrepareLimits;
  /** The project's audit configuration and its version, unless it records everything. */
  policy?: { version: number; config: AuditConfig };
}

/** Compiled policies by `${projectId}@${version}`: a filter is compiled once per version here too. */
const compiled = new Map<string, CompiledAuditPolicy>();
const MAX_COMPILED = 1000;

function policyOf(projectId: string, policy: NonNullable<PrepareJob['policy']>): CompiledAuditPolicy {
  const key = `${projectId}@${policy.version}`;
  let found = compiled.get(key);
  if (!found) {
    found = compileAuditPolicy(policy.config, policy.version);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, found);
  }
  return found;
}

parentPort!.on('message', (job: PrepareJob) => {
  try {
    const decide = job.policy ? policyDecider(policyOf(job.projectId, job.policy)) : undefined;
    const outcome = prepareBody(job.projectId, new Uint8Array(job.body), job.kind, job.receivedAt, job.limits, decide);
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
