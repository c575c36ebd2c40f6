/**
 * The forwarding engine of a node: one DestinationWorker per enabled destination of every
 * project, started from the stored destinations at start-up and replaced whenever a
 * destination's configuration changes. The sequencer tells it about commits (`notify`), so
 * workers wake at once instead of polling hard; each also polls slowly as a backstop.
 */
import os from 'node:os';
import { systemClock, type Clock } from '../core/clock.ts';
import type { SecretBox } from '../core/secret-box.ts';
import type { Store } from '../store/store.ts';
import type { BackoffOptions } from './backoff.ts';
import { CloudWatchSink, type CloudWatchDefaults } from './cloudwatch-sink.ts';
import { DESTINATION_SETTING_PREFIX, secretPurpose, type Destination } from './destination.ts';
import { DestinationWorker, type DestinationStatus } from './destination-worker.ts';
import type { Sink } from './sink.ts';
import { SyslogSink } from './syslog-sink.ts';
import { WebhookSink } from './webhook-sink.ts';

export interface ForwarderOptions {
  clock?: Clock;
  /** Waits between retries (default: real timers). Tests inject a simulated clock's. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  backoff?: BackoffOptions;
  /** Entries offered to a sink at once. Default 1000. */
  batchEvents?: number;
  /** Idle poll backstop in ms. Default 1000. */
  pollMs?: number;
  /** RFC 5424 HOSTNAME of syslog messages. Default os.hostname(). */
  hostname?: string;
  /** Endpoint override and default credentials for CloudWatch Logs. */
  cloudwatch?: CloudWatchDefaults;
  /** Told about every failed delivery attempt (the node logs it at warn). */
  onError?: (projectId: string, destinationId: string, error: unknown) => void;
}

export class Forwarder {
  /** Workers by project, then destination id. Owned by the event loop. */
  private readonly workers = new Map<string, Map<string, DestinationWorker>>();
  private readonly clock: Clock;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly secretBox: SecretBox,
    private readonly options: ForwarderOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Starts a worker for every stored destination. */
  async start(): Promise<void> {
    for (const project of await this.store.listProjects()) {
      for (const setting of await this.store.listSettings<Destination>(project.id, DESTINATION_SETTING_PREFIX)) {
        await this.apply(project.id, setting.name.slice(DESTINATION_SETTING_PREFIX.length), setting.value);
      }
    }
  }

  /** Replaces a destination's worker after its configuration changed (undefined: it is gone). */
  async apply(projectId: string, destinationId: string, destination: Destination | undefined): Promise<void> {
    const project = this.workers.get(projectId) ?? new Map<string, DestinationWorker>();
    this.workers.set(projectId, project);
    const old = project.get(destinationId);
    project.delete(destinationId);
    await old?.stop();
    if (!destination || destination.deleted || this.stopped) return;
    const worker = new DestinationWorker(this.store, projectId, destinationId, destination.enabled, destination.startFrom, () => this.sinkFor(projectId, destinationId, destination), {
      clock: this.clock,
      sleep: this.options.sleep,
      backoff: this.options.backoff,
      batchEvents: this.options.batchEvents,
      pollMs: this.options.pollMs,
      onError: (error) => this.options.onError?.(projectId, destinationId, error),
    });
    project.set(destinationId, worker);
    worker.start();
  }

  /** New entries were committed to a project's log: wake its workers. */
  notify(projectId: string): void {
    for (const worker of this.workers.get(projectId)?.values() ?? []) worker.wake();
  }

  /** A destination's delivery status; undefined when no worker exists for it. */
  async status(projectId: string, destinationId: string): Promise<DestinationStatus | undefined> {
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
