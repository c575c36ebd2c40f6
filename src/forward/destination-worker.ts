/**
 * One destination's delivery loop: read committed entries from the store after the durable
 * cursor, in index order, hand them to the sink in batches, and move the cursor once the sink
 * says they were delivered. A failure is retried with exponential backoff and jitter, forever:
 * the entries stay in the log, so a dead destination only grows its lag and never holds up
 * ingest (this loop only reads the log, after commits).
 *
 * At-least-once, and the window of duplicates: the cursor is written after each delivery, so a
 * crash (or a failed cursor write, or an abort on shutdown or reconfiguration) between the
 * receiver's acceptance and the cursor write sends that one batch again. Nothing else is ever
 * sent twice, and nothing is skipped: the cursor only moves past what a sink acknowledged.
 */
import { isoTime, type Clock } from '../core/clock.ts';
import type { Store } from '../store/store.ts';
import { Lease } from '../store/lease.ts';
import { abortableSleep, backoffDelay, type BackoffOptions } from './backoff.ts';
import type { StartFrom } from './destination.ts';
import { forwardEvent } from './forward-event.ts';
import { DeliveryError, errorDetail, type Sink } from './sink.ts';

/**
 * Entries read and offered to a sink at once (a sink may take fewer: CloudWatch stops at 1 MiB).
 * Also the at-least-once window. Large, because while ingest is busy each event-loop turn
 * carries one sequencer commit, and a delivery takes a few turns: measured, 1,000 let a
 * webhook fall behind 18,000 events/s of ingest and 5,000 kept up.
 */
export const DEFAULT_FORWARD_BATCH_EVENTS = 5000;
/** How often an idle worker looks at the log even without a commit notice (a backstop). */
export const DEFAULT_FORWARD_POLL_MS = 1000;
/**
 * How long a node's hold on delivering a destination lasts without renewal (store.ts
 * `takeLease`): after a node dies, another takes its destinations over within about this
 * time. Renewed while it has half left; longer than any one delivery attempt (30 s timeouts),
 * so that a slow receiver does not hand the destination to a second node mid-batch.
 */
export const DEFAULT_FORWARD_LEASE_MS = 45_000;

export type DestinationState = 'disabled' | 'connecting' | 'connected' | 'error';

export interface DestinationError {
  message: string;
  details: string;
  at: string;
}

export interface DestinationStatus {
  state: DestinationState;
  lastError: DestinationError | null;
  /** The index of the last event delivered (cursor − 1); null before the first. */
  lastDeliveredIndex: number | null;
  /** The next index to deliver (the durable cursor). */
  nextIndex: number;
  treeSize: number;
  /** Committed events not yet delivered. */
  lagEvents: number;
  /** Age of the oldest undelivered event (by receivedAt), in seconds; 0 when caught up. */
  lagSeconds: number;
  lastDeliveryAt: string | null;
  /** Sink counters (e.g. events CloudWatch refused). */
  notes: Record<string, number>;
}

/**
 * The delivering node's view of a destination, written with its cursor (store.ts CursorRecord
 * `status`): a node standing by reports it, instead of its own `connecting`.
 */
type SharedStatus = Pick<DestinationStatus, 'state' | 'lastError' | 'lastDeliveryAt' | 'notes'>;

function parseShared(text: string | undefined): SharedStatus | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as SharedStatus;
  } catch {
    return undefined; // written by another version, or damaged: this node's own view instead
  }
}

export interface WorkerOptions {
  clock: Clock;
  /** Waits between retries; tests inject a simulated clock's sleep. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  backoff?: BackoffOptions;
  batchEvents?: number;
  pollMs?: number;
  /** Told about every failed attempt (the node logs it). */
  onError?: (error: unknown) => void;
  /** Who this node is, for the delivery lease (unique per running Forwarder). */
  holder: string;
  /** The delivery lease's length. Default DEFAULT_FORWARD_LEASE_MS. */
  leaseMs?: number;
  /**
   * Resolves false when the stored configuration of the destination is no longer the one this
   * worker runs (another node changed it); the worker then delivers nothing more and waits to
   * be replaced.
   */
  isCurrent: () => Promise<boolean>;
}

export class DestinationWorker {
  private state: DestinationState;
  private lastError: DestinationError | null = null;
  private lastDeliveryAt: string | null = null;
  /** The durable cursor as last read or written by this worker. Owned by run(). */
  private next: number | undefined;
  private sink: Sink | undefined;
  private readonly abort = new AbortController();
  /** Set by wake(); run() clears it before each look at the log, so no notice is missed. */
  private woken = false;
  private wakeIdle: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** The delivery lease of this destination, renewed at half time. */
  private readonly lease: Lease;

  constructor(
    private readonly store: Store,
    readonly projectId: string,
    readonly destinationId: string,
    private readonly enabled: boolean,
    private readonly startFrom: StartFrom,
    private readonly makeSink: () => Sink,
    private readonly options: WorkerOptions,
  ) {
    this.state = enabled ? 'connecting' : 'disabled';
    this.lease = new Lease(store, `forward/${projectId}/${destinationId}`, options.holder, options.leaseMs ?? DEFAULT_FORWARD_LEASE_MS);
  }

  start(): void {
    if (this.enabled) this.loop ??= this.run();
  }

  /** New entries were committed to the project's log. Cheap: called after every commit. */
  wake(): void {
    this.woken = true;
    this.wakeIdle?.();
  }

  /** Stops the loop (an in-flight delivery is aborted and will be sent again) and closes the sink. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wakeIdle?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    try {
      while (!signal.aborted) {
        try {
          // If the lease is lost unawares (this process stalls past it), two nodes may deliver
          // one batch: at-least-once allows that, and a cursor written late only moves back and
          // resends, never skips.
          if (!(await this.lease.hold())) {
            // Another node delivers this destination (store.ts takeLease), and moves its cursor:
            // read it afresh once the lease is ours.
            this.next = undefined;
            await abortableSleep(this.lease.ms / 4, signal);
            continue;
          }
          this.sink ??= this.makeSink();
          this.next ??= await cursorOrStart(this.store, this.projectId, this.destinationId, this.startFrom, this.options.clock);
          this.woken = false;
          const size = await this.store.treeSize(this.projectId);
          if (this.next >= size) {
            await this.idle();
            continue;
          }
          const batch = this.options.batchEvents ?? DEFAULT_FORWARD_BATCH_EVENTS;
          const entries = await this.store.readEntries(this.projectId, this.next, Math.min(size, this.next + batch));
          const contiguous = entries.findIndex((entry, i) => entry.index !== this.next! + i);
          const present = contiguous === -1 ? entries : entries.slice(0, contiguous);
          // A committed entry that cannot be read is damage for fsck to name; skipping it
          // would be a silent gap, so the worker waits here, in error, until it is readable.
          if (present.length === 0) throw new DeliveryError(`Entry ${this.next} of the log cannot be read`, 'run `veritrail fsck`');
          if (!(await this.options.isCurrent())) {
            await abortableSleep(this.lease.ms, signal); // until the Forwarder replaces this worker
            continue;
          }
          const delivered = await this.sink.deliver(present.map(forwardEvent), signal);
          await this.advance(delivered);
          this.state = 'connected';
          this.lastError = null;
          attempt = 0;
        } catch (error) {
          if (signal.aborted) break;
          this.state = 'error';
          this.lastError = describe(error, this.options.clock);
          this.options.onError?.(error);
          // Shared with the nodes standing by, at the cursor it has; best effort.
          if (this.next !== undefined && this.lease.held) {
            await this.store.setCursor(this.projectId, this.destinationId, this.next, this.lastError.at, this.shared()).catch(() => {});
          }
          attempt++;
          await (this.options.sleep ?? abortableSleep)(backoffDelay(attempt, this.options.backoff), signal);
        }
      }
    } finally {
      await this.sink?.close().catch(() => {});
      // Let another node (or this worker's replacement) take over at once.
      await this.lease.drop();
    }
  }

  /** Moves the durable cursor past `delivered` more events. */
  private async advance(delivered: number): Promise<void> {
    const next = this.next! + delivered;
    const at = isoTime(this.options.clock.now());
    await this.store.setCursor(this.projectId, this.destinationId, next, at, this.shared({ state: 'connected', lastError: null, lastDeliveryAt: at }));
    this.next = next;
    this.lastDeliveryAt = at;
  }

  /** This worker's own view of the destination. */
  private ownView(): SharedStatus {
    return { state: this.state, lastError: this.lastError, lastDeliveryAt: this.lastDeliveryAt, notes: { ...(this.sink?.notes ?? {}) } };
  }

  /** This worker's view as written with the cursor, with `now` overriding what is about to change. */
  private shared(now: Partial<SharedStatus> = {}): string {
    return JSON.stringify({ ...this.ownView(), ...now });
  }

  /** Waits for a commit notice, the poll backstop, or stop(). */
  private async idle(): Promise<void> {
    if (this.woken) return;
    const wake = new Promise<void>((resolve) => (this.wakeIdle = resolve));
    await Promise.race([wake, abortableSleep(this.options.pollMs ?? DEFAULT_FORWARD_POLL_MS, this.abort.signal)]);
    this.wakeIdle = undefined;
  }

  async status(): Promise<DestinationStatus> {
    // A node standing by (an enabled worker without the lease) reports what the delivering node
    // wrote with the cursor; the delivering node, and a disabled destination, report their own.
    const standingBy = this.enabled && !this.lease.held;
    // One read of the cursor, for whichever of its view and its index this node lacks.
    const stored = standingBy || this.next === undefined ? await this.store.getCursor(this.projectId, this.destinationId) : undefined;
    const view = (standingBy ? parseShared(stored?.status) : undefined) ?? this.ownView();
    const next = this.next ?? stored?.nextIndex;
    const treeSize = await this.store.treeSize(this.projectId);
    // Before the first cursor exists, a destination starting "now" owes nothing yet.
    const cursor = next ?? (this.startFrom === 'beginning' ? 0 : treeSize);
    let lagSeconds = 0;
    if (cursor < treeSize) {
      const [oldest] = await this.store.readEntries(this.projectId, cursor, cursor + 1);
      if (oldest) lagSeconds = Math.max(0, (this.options.clock.now() - Date.parse(forwardEvent(oldest).receivedAt)) / 1000);
    }
    return {
      state: view.state,
      lastError: view.lastError,
      lastDeliveredIndex: cursor > 0 ? cursor - 1 : null,
      nextIndex: cursor,
      treeSize,
      lagEvents: Math.max(0, treeSize - cursor),
      lagSeconds,
      lastDeliveryAt: view.lastDeliveryAt,
      notes: view.notes,
    };
  }
}

/**
 * The destination's durable cursor; on first use it is created at the start the destination
 * asked for (the log's current size for `now`, 0 for `beginning`).
 */
export async function cursorOrStart(store: Store, projectId: string, destinationId: string, startFrom: StartFrom, clock: Clock): Promise<number> {
  const cursor = await store.getCursor(projectId, destinationId);
  if (cursor) return cursor.nextIndex;
  const start = startFrom === 'beginning' ? 0 : await store.treeSize(projectId);
  await store.setCursor(projectId, destinationId, start, isoTime(clock.now()));
  return start;
}

function describe(error: unknown, clock: Clock): DestinationError {
  const at = isoTime(clock.now());
  if (error instanceof DeliveryError) return { message: error.message, details: error.details, at };
  return { message: "Couldn't forward events", details: errorDetail(error), at };
}
