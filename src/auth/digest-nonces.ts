/**
 * Digest nonces (spec/atlas.md §7.1, "Server rules"): stateless, so any node sharing the server
 * secret accepts a nonce another issued, and nothing is stored per challenge.
 *
 *   nonce = base64(issued seconds (4 bytes) ‖ random (4) ‖ HMAC-SHA256(key, those 8 ‖ realm)[0..16))
 *
 * 24 bytes, so exactly 32 base64 characters, the recorded length. The random part keeps two
 * challenges of the same second apart (Go's client takes a fresh nonce for every request and
 * starts each at nc=1).
 *
 * Replay protection is the one piece of state: for each nonce that authenticated a request, the
 * highest `nc` seen; a later request must use a strictly greater one (clients may skip values:
 * urllib's counter is process-wide). The table is bounded. When it is full the entry used least
 * recently goes, and the issue time of every evicted nonce raises `horizon`: a nonce issued at
 * or before the horizon that is not in the table is answered `stale`, so an evicted nonce can
 * never be replayed; the client just answers a fresh challenge.
 *
 * The table is per node. On a store several nodes share, the authenticator also records each
 * use in the store (`recordDigestNonceUse`), so a request captured and replayed to another node
 * is refused there too (digest-authenticator.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.ts';
import { DIGEST_REALM } from './digest.ts';

/** How long a nonce is accepted after it was issued. */
export const DEFAULT_NONCE_LIFETIME_MS = 5 * 60_000;
/** Nonces whose nc is remembered at once; beyond this the least recently used is forgotten. */
export const DEFAULT_MAX_TRACKED_NONCES = 100_000;

export type NonceCheck = 'valid' | 'stale' | 'invalid';

export class DigestNonces {
  /** nonce -> highest nc accepted. Map order = least recently used first. Owned by the event loop. */
  private readonly seen = new Map<string, { nc: number; issuedSec: number }>();
  /** Every nonce issued at or before this second and not in `seen` is stale. */
  private horizonSec = -1;
  private readonly lifetimeMs: number;
  private readonly maxTracked: number;

  constructor(
    private readonly key: Buffer,
    private readonly clock: Clock = systemClock,
    options: { lifetimeMs?: number; maxTracked?: number } = {},
  ) {
    this.lifetimeMs = options.lifetimeMs ?? DEFAULT_NONCE_LIFETIME_MS;
    this.maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED_NONCES;
  }

  issue(): string {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(Math.floor(this.clock.now() / 1000));
    randomBytes(4).copy(head, 4);
    return Buffer.concat([head, this.mac(head)]).toString('base64');
  }

  /** Whether this server issued the nonce (`invalid` if not), and whether it is still fresh. */
  check(nonce: string): NonceCheck {
    const issuedSec = this.issuedSec(nonce);
    if (issuedSec === undefined) return 'invalid';
    return this.clock.now() - issuedSec * 1000 > this.lifetimeMs ? 'stale' : 'valid';
  }

  /**
   * Records that a request with this (valid, correctly answered) nonce used `nc`. False for a
   * replay (nc not above the highest seen), `stale` when the nonce was forgotten.
   */
  use(nonce: string, nc: number): true | false | 'stale' {
    const issuedSec = this.issuedSec(nonce)!;
    const entry = this.seen.get(nonce);
    if (!entry) {
      if (issuedSec <= this.horizonSec) return 'stale';
      this.seen.set(nonce, { nc, issuedSec });
      this.evict();
      return true;
    }
    if (nc <= entry.nc) return false;
    entry.nc = nc;
    this.seen.delete(nonce);
    this.seen.set(nonce, entry);
    return true;
  }

  /** Forgets expired nonces, and the least recently used while the table is over its bound. */
  private evict(): void {
    const expiredBefore = (this.clock.now() - this.lifetimeMs) / 1000;
    for (const [nonce, entry] of this.seen) {
      const expired = entry.issuedSec < expiredBefore;
      if (!expired && this.seen.size <= this.maxTracked) break;
      this.seen.delete(nonce);
      // An expired nonce is refused as stale anyway; an evicted live one must not come back.
      if (!expired) this.horizonSec = Math.max(this.horizonSec, entry.issuedSec);
    }
  }

  private mac(head: Buffer): Buffer {
    return createHmac('sha256', this.key).update(head).update(DIGEST_REALM).digest().subarray(0, 16);
  }

  /** Before this second, nonces are expired (refused as stale): what a shared record may forget. */
  expiredBeforeSec(): number {
    return Math.floor((this.clock.now() - this.lifetimeMs) / 1000);
  }

  /** When a nonce this server issued was issued, in Unix seconds; undefined if it did not issue it. */
  issuedSec(nonce: string): number | undefined {
    if (!/^[A-Za-z0-9+/]{32}$/.test(nonce)) return undefined;
    const bytes = Buffer.from(nonce, 'base64');
    const head = bytes.subarray(0, 8);
    return timingSafeEqual(bytes.subarray(8), this.mac(head)) ? head.readUInt32BE(0) : undefined;
  }
}
