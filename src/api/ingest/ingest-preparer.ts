/**
 * Ingest's preparation step (DESIGN.md: adapter → envelope → audit policy → sequencer): raw
 * bodies become prepared or dropped items, by the project's compiled audit
 * policy. Large bodies are parsed, validated, canonicalised, hashed and decided in a worker
 * thread, where the events are parsed anyway; small ones inline, where a thread hop costs more
 * than it saves. Both paths run the same pure code (log/prepare.ts, policy/audit-policy.ts).
 */
import { accepted, INGEST_LIMITS, prepareBody, type BodyKind, type PreparedItem } from '../../log/prepare.ts';
import { policyDecider, type CompiledAuditPolicy } from '../../policy/audit-policy.ts';
import { DEFAULT_PREPARE_WORKER_MIN_BYTES, defaultPrepareWorkers, PreparePool } from './prepare-pool.ts';

export interface IngestPreparerOptions {
  /** Worker threads for bodies of DEFAULT_PREPARE_WORKER_MIN_BYTES or more; 0 prepares everything inline. Default: cores - 1. */
  workers?: number;
}

export class IngestPreparer {
  private readonly pool: PreparePool | undefined;

  constructor(
    /** The project's compiled audit policy (api/audit-configs.ts). */
    private readonly policyOf: (projectId: string) => CompiledAuditPolicy | Promise<CompiledAuditPolicy>,
    options: IngestPreparerOptions = {},
  ) {
    const workers = options.workers ?? defaultPrepareWorkers();
    this.pool = workers > 0 ? new PreparePool(workers) : undefined;
  }

  /** Prepares a raw request body; throws the request's 4xx error, having queued nothing. */
  async prepareBody(projectId: string, body: Uint8Array, kind: BodyKind, receivedAt: string): Promise<{ single: boolean; items: PreparedItem[] }> {
    const policy = await this.policyOf(projectId);
    const outcome =
      this.pool && body.byteLength >= DEFAULT_PREPARE_WORKER_MIN_BYTES
        ? await this.pool.prepare(projectId, body, kind, receivedAt, policy.recordsEverything ? undefined : { version: policy.version, config: policy.config })
        : prepareBody(projectId, body, kind, receivedAt, INGEST_LIMITS, policyDecider(policy));
    return accepted(outcome);
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }
}
