/**
 * A Veritrail node: the store, the log machinery around it and the services the HTTP layer
 * calls. `VeritrailNode.open` is the composition root; `veritrail serve` and the tests both use
 * it, so what the tests exercise is what runs.
 */
import { systemClock, isoTime, type Clock } from '../core/clock.ts';
import { newProjectId } from '../core/ids.ts';
import { Authenticator } from '../auth/authenticator.ts';
import { newApiKey } from '../auth/api-keys.ts';
import { Appender, type AppendReceipt } from '../log/appender.ts';
import { isDropped, type PreparedEvent, type PreparedItem } from '../log/prepare.ts';
import { IngestPreparer } from './ingest/ingest-preparer.ts';
import { Checkpointer } from '../log/checkpointer.ts';
import { parseCheckpoint } from '../log/checkpoint.ts';
import { loadOrCreateSigner, logOrigin } from '../log/log-key.ts';
import { Sequencer } from '../log/sequencer.ts';
import { openNote, type NoteSigner } from '../log/signed-note.ts';
import { TreeReader } from '../log/tree-reader.ts';
import { SearchIndexer, type SearchIndexing } from '../query/search-indexer.ts';
import { SearchIndexerThread } from '../query/search-indexer-thread.ts';
import { SecretBox } from '../core/secret-box.ts';
import { createMetrics, outcomeOf, type Metrics } from '../core/metrics.ts';
import { meteredCommitHooks } from './metrics.ts';
import { loadOrCreateServerSecret } from '../log/server-secret.ts';
import { openStore } from '../store/open-store.ts';
import { leaseHolder } from '../store/lease.ts';
import type { ProjectRecord, Store } from '../store/store.ts';
import { AccessTokens } from '../auth/access-tokens.ts';
import { DigestAuthenticator } from '../auth/digest-authenticator.ts';
import { DigestNonces } from '../auth/digest-nonces.ts';
import type { DropReason } from '../policy/audit-policy.ts';
import { AuditConfigs } from './audit-configs.ts';
import { Forwarder } from '../forward/forwarder.ts';
import { DestinationService } from '../forward/destination-service.ts';
import { resolveNodeConfig, type NodeConfig, type ResolvedNodeConfig } from './node-config.ts';

/** The receipt of an event the project's audit configuration did not record (spec/api.md "Ingest"). */
export interface DroppedReceipt {
  eventId: string;
  recorded: false;
  reason: DropReason;
}

export class VeritrailNode {
  private closing: Promise<void> | undefined;
  /** Projects by id; a project never changes or disappears once created, so this never goes stale. */
  private readonly projects = new Map<string, ProjectRecord>();
  /** Per-project audit configurations and the compiled policies ingest applies. */
  readonly auditConfigs: AuditConfigs;
  /** HTTP Digest with `atlas` keys (the Atlas dialect). */
  readonly digest: DigestAuthenticator;
  /** OAuth access tokens of service accounts (the Atlas dialect). */
  readonly accessTokens: AccessTokens;
  /** Turns ingest bodies into prepared or dropped items, by each project's audit policy. */
  readonly preparer: IngestPreparer;

  private constructor(
    readonly config: ResolvedNodeConfig,
    readonly store: Store,
    readonly signer: NoteSigner,
    readonly reader: TreeReader,
    readonly sequencer: Sequencer,
    readonly checkpointer: Checkpointer,
    readonly appender: Appender,
    readonly authenticator: Authenticator,
    readonly clock: Clock,
    /** Seals and opens stored secrets that a protocol needs in clear (core/secret-box.ts). */
    readonly secretBox: SecretBox,
    /** The built-in project holding organisation-wide self-audit records (ORG_OWNER only). */
    readonly systemProjectId: string,
    /** The ORG_OWNER key made by this start, if the store was empty; shown once by serve. */
    readonly firstKey: string | undefined,
    /** This node's Prometheus instruments (core/metrics.ts), rendered at GET /metrics. */
    readonly metrics: Metrics,
    /** Follows every log's tail into the store's search index (query/search-indexer.ts). */
    readonly searchIndexer: SearchIndexing,
    /** Delivers every project's events to its destinations (src/forward/). */
    readonly forwarder: Forwarder,
    /** Reads and writes destinations, for the native API and the Qumulo dialect. */
    readonly destinations: DestinationService,
  ) {
    this.auditConfigs = new AuditConfigs(store, { clock, refreshMs: config.auditPolicyRefreshMs });
    this.digest = new DigestAuthenticator(store, secretBox, authenticator, new DigestNonces(secretBox.deriveKey('digest nonces'), clock));
    this.accessTokens = new AccessTokens(store, secretBox.deriveKey('oauth access tokens'), authenticator, clock, { maxRevoked: config.maxRevokedTokens });
    this.preparer = new IngestPreparer((projectId) => this.auditConfigs.policy(projectId), { workers: config.prepareWorkers });
  }

  static async open(input: NodeConfig): Promise<VeritrailNode> {
    const config = resolveNodeConfig(input);
    const clock = config.clock ?? systemClock;
    const store = config.store ?? (await openStore({ storeUrl: config.storeUrl, dataDir: config.dataDir }));
    try {
      const signer = loadOrCreateSigner(config.dataDir, config.originHost, config.checkpointKey, { create: !store.capabilities.concurrentWriters });
      const secretBox = new SecretBox(loadOrCreateServerSecret(config.dataDir, config.serverSecret, { create: !store.capabilities.concurrentWriters }));
      const reader = new TreeReader(store);
      await verifyAtStart(store, reader, signer);
      const checkpointer = new Checkpointer(store, signer, { intervalMs: config.checkpointIntervalMs, clock });
      const metrics = createMetrics();
      const forwarder = new Forwarder(store, secretBox, { clock, ...config.forwarding });
      const onRest = (ms: number) => metrics.searchYieldSeconds.inc(ms / 1000);
      const onIndexError = (projectId: string, error: unknown) => {
        if (config.log !== false && config.log !== undefined) console.error(`couldn't index project ${projectId} for search: ${(error as Error).message}`);
      };
      // In a thread of its own, over a store handle of its own (the SQLite store's search file,
      // or a second PostgreSQL pool), beside the sequencer on another core; inline on this event
      // loop only for a store handed in by the caller. On PostgreSQL, several nodes' indexers
      // race safely through the size-conditional indexForSearch.
      const searchIndexer: SearchIndexing = config.store
        ? new SearchIndexer(store, { onError: onIndexError, onRest, pacing: config.searchPacing })
        : new SearchIndexerThread(store, { storeUrl: config.storeUrl, dataDir: config.dataDir }, { onError: onIndexError, onRest, pacing: config.searchPacing });
      const sequencer = new Sequencer(store, {
        hooks: meteredCommitHooks(metrics, config.sequencerHooks),
        // After each commit: the checkpointer, the search index and the forwarders follow the
        // log's new tail.
        onCommitted: (projectId, size) => {
          checkpointer.markDirty(projectId);
          // Events still queued: a backlog, to which search may yield (search-pacing.ts).
          searchIndexer.markDirty(projectId, size, sequencer.depth > 0);
          forwarder.notify(projectId);
        },
      });
      const appender = new Appender(sequencer, checkpointer, reader, { maxQueuedEvents: config.maxQueuedEvents });
      const authenticator = new Authenticator(store, clock);
      const { firstKey, systemProjectId } = await onFirstStartTurn(store, async () => ({
        firstKey: await createFirstKey(store, clock),
        systemProjectId: await ensureSystemProject(store, checkpointer, config.originHost, clock),
      }));
      // Logs that grew after their last checkpoint (a crash between commit and signing) are
      // signed on the first pass.
      // The same for the search index (rebuilt in the background when the engine lost it).
      for (const project of await store.listProjects()) {
        checkpointer.markDirty(project.id);
        searchIndexer.markDirty(project.id);
      }
      checkpointer.start();
      await forwarder.start();
      const destinations = new DestinationService(store, secretBox, forwarder, clock);
      return new VeritrailNode(config, store, signer, reader, sequencer, checkpointer, appender, authenticator, clock, secretBox, systemProjectId, firstKey, metrics, searchIndexer, forwarder, destinations);
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
  }

  /** Creates a project and signs its empty checkpoint, so every project always has one. */
  async createProject(name: string, options: { system?: boolean; id?: string } = {}): Promise<ProjectRecord> {
    const id = options.id ?? newProjectId();
    const project: ProjectRecord = {
      id,
      name,
      createdAt: isoTime(this.clock.now()),
      logOrigin: logOrigin(this.config.originHost, id),
      system: options.system ?? false,
    };
    await this.store.createProject(project);
    await this.checkpointer.signLog(id);
    return project;
  }

  /**
   * Client events into a project's log (DESIGN.md "The flow of one event"), once prepared by
   * `preparer` (validated as a batch, then each one through the project's audit configuration).
   * Only recorded items are sequenced; receipts come back in the items' order, a dropped event's
   * saying `recorded: false` and why, with nothing of it stored. Every API that ingests calls
   * this, so all are counted alike in veritrail_ingest_events_total; a body refused while it was
   * read and prepared never gets here, and is counted by its bytes only.
   */
  async ingest(projectId: string, items: readonly PreparedItem[], options: { waitForCheckpoint?: boolean } = {}): Promise<Array<AppendReceipt | DroppedReceipt>> {
    const kept = items.filter((item): item is PreparedEvent => !isDropped(item));
    let appended: AppendReceipt[] = [];
    if (kept.length > 0) {
      try {
        appended = await this.appender.append(projectId, kept, options);
      } catch (error) {
        this.metrics.ingestEvents.inc({ outcome: outcomeOf(error) }, kept.length);
        throw error;
      }
    }
    const duplicates = appended.filter((r) => r.duplicate).length;
    if (appended.length > duplicates) this.metrics.ingestEvents.inc({ outcome: 'appended' }, appended.length - duplicates);
    if (duplicates > 0) this.metrics.ingestEvents.inc({ outcome: 'duplicate' }, duplicates);
    if (items.length > kept.length) this.metrics.ingestEvents.inc({ outcome: 'dropped' }, items.length - kept.length);
    let next = 0;
    return items.map((item) => (isDropped(item) ? { eventId: item.eventId, recorded: false, reason: item.dropped as DropReason } : appended[next++]!));
  }

  /**
   * Appends a self-audit record to a project's log and resolves once it is committed. Such
   * records are Veritrail's own, so no project's audit configuration can drop them.
   */
  async recordSelfAudit(projectId: string, record: Record<string, unknown>): Promise<void> {
    const prepared = this.appender.prepare(projectId, [record], isoTime(this.clock.now()));
    await this.appender.append(projectId, prepared);
  }

  /** The project with this id, from memory after the first read. */
  async project(id: string): Promise<ProjectRecord | undefined> {
    const cached = this.projects.get(id);
    if (cached) return cached;
    const project = await this.store.getProject(id);
    if (project) this.projects.set(id, project);
    return project;
  }

  /**
   * Finishes in-flight commits, signs a last checkpoint of every log that grew, and closes the
   * store. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.sequencer.close();
      await this.preparer.close();
      // Deliveries in flight are aborted; their events are sent again after the next start.
      await this.forwarder.stop();
      await this.checkpointer.stop();
      await this.searchIndexer.stop();
      await this.store.close();
    })();
    return this.closing;
  }
}

/**
 * The cheap start-up check (O(log n) per log): every log's last checkpoint verifies under the
 * server key, and the stored tiles still fold to its root. A log that fails stops the start:
 * an audit log that silently serves a rewritten history is worse than one that is down.
 */
async function verifyAtStart(store: Store, reader: TreeReader, signer: NoteSigner): Promise<void> {
  for (const project of await store.listProjects()) {
    const checkpoint = await store.latestCheckpoint(project.id);
    if (!checkpoint) continue;
    const problem = await (async () => {
      try {
        const body = parseCheckpoint(openNote(checkpoint.note, [signer]));
        if (body.size !== checkpoint.treeSize || !body.root.equals(checkpoint.rootHash)) return 'its checkpoint row disagrees with its signed note';
        if ((await store.treeSize(project.id)) < checkpoint.treeSize) return `it holds fewer entries than its checkpoint (${checkpoint.treeSize})`;
        const root = await reader.root(project.id, checkpoint.treeSize);
        return root.equals(body.root) ? undefined : `its stored tree at size ${checkpoint.treeSize} does not match the signed root`;
      } catch (error) {
        return (error as Error).message;
      }
    })();
    if (problem) {
      throw new Error(`the log of project ${project.id} failed its start-up check: ${problem}. Run \`veritrail fsck\` to find the first bad entry.`);
    }
  }
}

/** The system project's name; it is found by its `system` flag, not by name. */
export const SYSTEM_PROJECT_NAME = 'veritrail-system';

/** Finds the system project, making it (with its empty checkpoint) on first start. */
async function ensureSystemProject(store: Store, checkpointer: Checkpointer, originHost: string, clock: Clock): Promise<string> {
  const existing = (await store.listProjects()).find((p) => p.system);
  if (existing) return existing.id;
  const id = newProjectId();
  await store.createProject({ id, name: SYSTEM_PROJECT_NAME, createdAt: isoTime(clock.now()), logOrigin: logOrigin(originHost, id), system: true });
  await checkpointer.signLog(id);
  return id;
}

/** How long a starting node may hold the first-start lease; making the first key and the system project takes milliseconds. */
const FIRST_START_LEASE_MS = 30_000;
/** How often a node waiting for the first-start lease asks again. */
const FIRST_START_POLL_MS = 50;

/**
 * Runs `fn` (what a node's start reads and makes once: the first key, the system project) while
 * holding the `first-start` lease of a shared store, so that nodes starting together on an empty
 * database take turns and the later ones find what the first made, instead of each making and
 * printing a first key and a system project of its own. The lease is only for liveness (a node
 * that dies holding it delays the others by at most FIRST_START_LEASE_MS); two holders overlap
 * only if `fn` stalls past it.
 */
async function onFirstStartTurn<T>(store: Store, fn: () => Promise<T>): Promise<T> {
  if (!store.capabilities.concurrentWriters) return fn();
  const holder = leaseHolder();
  while (!(await store.takeLease('first-start', holder, FIRST_START_LEASE_MS))) await new Promise((resolve) => setTimeout(resolve, FIRST_START_POLL_MS));
  try {
    return await fn();
  } finally {
    // A failed drop must not hide fn's own error; the lease runs out by itself.
    await store.dropLease('first-start', holder).catch(() => {});
  }
}

/** On a store with no projects and no keys, makes the first ORG_OWNER key. */
async function createFirstKey(store: Store, clock: Clock): Promise<string | undefined> {
  if ((await store.listKeys(null)).length > 0 || (await store.listProjects()).length > 0) return undefined;
  const { record, secret } = newApiKey('ORG_OWNER', null, 'first key, made at first start', clock.now());
  await store.createKey(record);
  return secret;
}
