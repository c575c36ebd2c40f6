/**
 * One named lease of a shared store (store.ts `takeLease`), held by this process and renewed
 * when less than half of it is left. Nodes sharing a store use it so that one of them does a job
 * at a time: delivering a destination, or indexing for search. A lease is for liveness only: a
 * holder that stalls past it loses it unawares, so the job it guards must stay correct when two
 * holders briefly overlap.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Store } from './store.ts';

/** A holder name unique to one process and one use: host, pid and a random tag. */
export function leaseHolder(): string {
  return `${os.hostname()} ${process.pid} ${randomUUID().slice(0, 8)}`;
}

export class Lease {
  /** When the lease runs out by this process's clock; 0 when not held. */
  private until = 0;
  /** After a refusal, asking again before this time gets the same answer without a store call. */
  private askAgainAt = 0;

  constructor(
    private readonly store: Pick<Store, 'takeLease' | 'dropLease'>,
    readonly name: string,
    private readonly holder: string,
    readonly ms: number,
  ) {}

  /**
   * Takes or renews the lease if it is due; false while another holder has it. A refused holder
   * asks the store again only after a tenth of the lease, so callers may call this often.
   */
  async hold(): Promise<boolean> {
    const now = Date.now();
    if (now < this.until - this.ms / 2) return true;
    if (this.refused) return false;
    const held = await this.store.takeLease(this.name, this.holder, this.ms);
    this.until = held ? now + this.ms : 0;
    if (!held) this.askAgainAt = now + this.ms / 10;
    return held;
  }

  /** Whether this process holds the lease now, by its own clock (no store call). */
  get held(): boolean {
    return Date.now() < this.until;
  }

  /**
   * Whether the store refused this process the lease lately (within a tenth of the lease): it
   * stands by. False before it ever asked, and once a held lease has lapsed.
   */
  get refused(): boolean {
    return this.until === 0 && Date.now() < this.askAgainAt;
  }

  /** Gives the lease up, if held, so that another holder may take it at once. */
  async drop(): Promise<void> {
    if (this.until === 0) return;
    this.until = 0;
    await this.store.dropLease(this.name, this.holder).catch(() => {});
  }
}
