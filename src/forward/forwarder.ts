/**
 * The forwarding engine of a node: one DestinationWorker per enabled destination of every
 * project, started from the stored destinations at start-up and replaced whenever a
 * destination's configuration changes. The sequencer tells it about commits (`notify`), so
 * workers wake at once instead of polling hard; each also polls slowly as a backstop.
 *
 * Several nodes on one store (PostgreSQL): every node runs a worker per destination, and a lease
 * in the store (`takeLease`, one per destination) lets one of them deliver at a time; the others
 * stand by and take over within the lease time if it dies. A change made through one node
 * reaches the others twice over: a worker checks the stored version before each delivery and is
 * replaced when it is stale, and every node reloads all destinations every `refreshMs`, so one
 * made elsewhere gets a standby worker too.
 *
 * A destination's status is the same on every node: the delivering node writes its view
 * (state, last error, last delivery) with the cursor, and a node standing by reports that.
 */
import os from 'node:os';
import { systemClock, type Clock } from '../core/clock.ts';
import type { SecretBox } from '../core/secret-box.ts';
import { leaseHolder } from '../store/lease.ts';
import type { Store } from '../store/store.ts';
import type { BackoffOptions } from './backoff.ts';
import { CloudWatchSink, type CloudWatchDefaults } from './cloudwatch-sink.ts';
import { DESTINATION_SETTING_PREFIX, destinationSettingName, secretPurpose, type Destination } from './destination.ts';
import { DEFAULT_FORWARD_LEASE_MS, DestinationWorker, type DestinationStatus } from './destination-worker.ts';
import type { Sink } from './sink.ts';
import { SyslogSink } from './syslog-sink.ts';
import { WebhookSink } from './webhook-sink.ts';

export interface ForwarderOptions {
  clock?: Clock;
  /** Waits between retries (default: real timers). Tests inject a simulated clock's. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  backoff?: BackoffOptions;
  /** Entries offered to a sink at once. Default DEFAULT_FORWARD_BATCH_EVENTS (destination-worker.ts). */
  batchEvents?: number;
  /** Idle poll backstop in ms. Default 1000. */
  pollMs?: number;
  /** RFC 5424 HOSTNAME of syslog messages. Default os.hostname(). */
  hostname?: string;
  /** Endpoint override and default credentials for CloudWatch Logs. */
  cloudwatch?: CloudWatchDefaults;
  /** Told about every failed delivery attempt (the node logs it at warn). */
  onError?: (projectId: string, destinationId: string, error: unknown) => void;
  /** The delivery lease's length in ms (destination-worker.ts DEFAULT_FORWARD_LEASE_MS). */
  leaseMs?: number;
  /**
   * On a store other nodes share: how often every destination is reloaded from the store, in
   * ms. Default a quarter of the lease, so that a node knows a destination made elsewhere well
   * before it may have to take it over.
   */
  refreshMs?: number;
}

export class Forwarder {
  /** Workers by project, then destination id. Owned by the event loop. */
  private readonly workers = new Map<string, Map<string, DestinationWorker>>();
  /** The stored version each destination's worker runs, by `projectId/destinationId`. */
  private readonly versions = new Map<string, number>();
  private readonly clock: Clock;
  /** This node, as the holder of delivery leases: unique per Forwarder, so per process. */
  private readonly holder = leaseHolder();
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Applies in progress, so that apply() calls for one destination run one after another. */
  private applying = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    private readonly options: ForwarderOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts a worker for every stored destination; on a shared store, reloads them regularly. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.store.capabilities.concurrentWriters) this.scheduleRefresh();
  }

  /** Applies every stored destination whose version is not the one its worker runs. */
  async refresh(): Promise<void> {
    for (const project of await this.store.listProjects()) {
      for (const setting of await this.store.listSettings<Destination>(project.id, DESTINATION_SETTING_PREFIX)) {
        const destinationId = setting.name.slice(DESTINATION_SETTING_PREFIX.length);
        if (this.versions.get(`${project.id}/${destinationId}`) !== setting.version) await this.apply(project.id, destinationId, setting.value, setting.version);
      }
    }
  }

  /**
   * Replaces a destination's worker after its configuration changed to stored version `version`
   * (undefined destination: it is gone). Calls run one after another.
   */
  apply(projectId: string, destinationId: string, destination: Destination | undefined, version: number): Promise<void> {
    const run = this.applying.then(() => this.replace(projectId, destinationId, destination, version));
    this.applying = run.catch(() => {});
    return run;
  }

  private async replace(projectId: string, destinationId: string, destination: Destination | undefined, version: number): Promise<void> {
    const key = `${projectId}/${destinationId}`;
    // A change applied already (this node wrote it, or an earlier reload saw it) is not redone.
    if (this.versions.get(key) !== undefined && this.versions.get(key)! >= version) return;
    const project = this.workers.get(projectId) ?? new Map<string, DestinationWorker>();
    this.workers.set(projectId, project);
    const old = project.get(destinationId);
    project.delete(destinationId);
    await old?.stop();
    this.versions.set(key, version);
    if (!destination || destination.deleted || this.stopped) return;
    const worker = new DestinationWorker(this.store, projectId, destinationId, destination.enabled, destination.startFrom, () => this.sinkFor(projectId, destinationId, destination), {
      clock: this.clock,
      sleep: this.options.sleep,
      backoff: this.options.backoff,
      batchEvents: this.options.batchEvents,
      pollMs: this.options.pollMs,
      onError: (error) => this.options.onError?.(projectId, destinationId, error),
      holder: this.holder,
      leaseMs: this.options.leaseMs,
      isCurrent: () => this.isCurrent(projectId, destinationId, version),
    });
    project.set(destinationId, worker);
    worker.start();
  }

  /** Whether `version` is still the stored one; if not, the newer one replaces the worker. */
  private async isCurrent(projectId: string, destinationId: string, version: number): Promise<boolean> {
    // A store no other node writes changes only through this node, whose write applies the
    // change here itself (DestinationService.write): no read is needed to know it.
    if (!this.store.capabilities.concurrentWriters) return true;
    const setting = await this.store.getSetting<Destination>(projectId, destinationSettingName(destinationId));
    if (setting === undefined || setting.version === version) return true;
    // Not awaited: apply() stops the very worker that is asking.
    void this.apply(projectId, destinationId, setting.value, setting.version).catch((error) => this.options.onError?.(projectId, destinationId, error));
    return false;
  }

  private scheduleRefresh(): void {
    this.refreshTimer = setTimeout(() => {
      // A failed reload is tried again at the next; the workers report store errors themselves.
      void this.refresh()
        .catch(() => {})
        .finally(() => {
          if (!this.stopped) this.scheduleRefresh();
        });
    }, this.options.refreshMs ?? (this.options.leaseMs ?? DEFAULT_FORWARD_LEASE_MS) / 4);
    this.refreshTimer.unref();
  }

  /** New entries were committed to a project's log: wake its workers. */
  notify(projectId: string): void {
    for (const worker of this.workers.get(projectId)?.values() ?? []) worker.wake();
  }

  /**
   * A destination's delivery status; undefined when no worker exists for it. One made through
   * another node and not yet reloaded here is loaded first.
   */
  async status(projectId: string, destinationId: string): Promise<DestinationStatus | undefined> {
    if (!this.workers.get(projectId)?.has(destinationId)) {
      const setting = await this.store.getSetting<Destination>(projectId, destinationSettingName(destinationId));
      if (setting) await this.apply(projectId, destinationId, setting.value, setting.version);
    }
    return this.workers.get(projectId)?.get(destinationId)?.status();
  }

  /**
   * Every destination's status, for metrics (e.g. a `veritrail_forward_lag_events` gauge per
   * project and destination). Reads the store once per destination.
   */
  async statuses(): Promise<Array<{ projectId: string; destinationId: string; status: DestinationStatus }>> {
    const out = [];
    for (const [projectId, project] of this.workers) {
      for (const [destinationId, worker] of project) out.push({ projectId, destinationId, status: await worker.status() });
    }
    return out;
  }

  /** Stops every worker; deliveries in flight are aborted and resent after the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    await this.applying;
    const all = [...this.workers.values()].flatMap((project) => [...project.values()]);
    this.workers.clear();
    await Promise.all(all.map((worker) => worker.stop()));
  }

  private sinkFor(projectId: string, destinationId: string, destination: Destination): Sink {
    const open = (sealed: string | undefined, member: string) => (sealed === undefined ? undefined : this.secretBox.open(sealed, secretPurpose(projectId, destinationId, member)));
    switch (destination.kind) {
      case 'cloudwatch':
        return new CloudWatchSink(destination, projectId, open(destination.secretAccessKey, 'secretAccessKey'), this.clock, this.options.cloudwatch);
      case 'syslog':
        return new SyslogSink(destination, this.options.hostname ?? os.hostname());
      case 'webhook':
        return new WebhookSink(destination, projectId, destinationId, open(destination.secret, 'secret')!, this.clock);
    }
  }
}
