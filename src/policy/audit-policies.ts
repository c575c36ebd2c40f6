/**
 * The compiled audit policy of each project, cached so that ingest pays for a filter's parse and
 * compilation once per configuration version, not per event or per request.
 *
 * Freshness. A change made through this node replaces the cached policy at once (`put`). A
 * change made through another node sharing the store (PostgreSQL) is seen when this node next
 * reads the setting's version, at most `refreshMs` after it last did: one small read per project
 * per interval, never per event. Until then this node applies the previous version, so for up
 * to `refreshMs` after a change on another node it may record events the new configuration
 * drops, or drop events the new configuration records (turning auditing back on is the
 * direction that can lose events). Versions only grow, so a slow read never replaces a newer
 * policy with an older one.
 */
import { systemClock, type Clock } from '../core/clock.ts';
import { LruMap } from '../core/lru-map.ts';
import type { AuditConfig } from './audit-config.ts';
import { compileAuditPolicy, type CompiledAuditPolicy } from './audit-policy.ts';

/** How long a cached policy is used before its version is read again (multi-node freshness). */
export const DEFAULT_POLICY_REFRESH_MS = 1000;
/** Projects whose policy is kept compiled; the least recently loaded is dropped beyond this. */
export const DEFAULT_POLICY_CACHE_SIZE = 10_000;

/** A stored configuration and its setting version. */
export interface VersionedAuditConfig {
  version: number;
  config: AuditConfig;
}

/** Reads a project's configuration from wherever it is kept; undefined: never configured. */
export type AuditConfigLoader = (projectId: string) => Promise<VersionedAuditConfig | undefined>;

export interface AuditPoliciesOptions {
  refreshMs?: number;
  cacheSize?: number;
  clock?: Clock;
}

interface Entry {
  policy: CompiledAuditPolicy;
  checkedAt: number;
}

export class AuditPolicies {
  /** Per project; owned by the event loop (no awaits between a read and its write). */
  private readonly entries: LruMap<string, Entry>;
  /** Reads in flight, so that a burst of requests at expiry makes one read. */
  private readonly loading = new Map<string, Promise<CompiledAuditPolicy>>();
  private readonly refreshMs: number;
  private readonly clock: Clock;
  /** How many times a filter was compiled; tests check it is once per configuration version. */
  compilations = 0;
  /** Told when a compiled policy carries a warning (a filter that matches nothing, say); the app logs it. */
  onWarning: ((projectId: string, warning: string) => void) | undefined;

  constructor(
    private readonly load: AuditConfigLoader,
    options: AuditPoliciesOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? DEFAULT_POLICY_REFRESH_MS;
    this.entries = new LruMap(options.cacheSize ?? DEFAULT_POLICY_CACHE_SIZE);
    this.clock = options.clock ?? systemClock;
  }

  /** The project's policy; reads the store only when the cached one is older than `refreshMs`. */
  get(projectId: string): CompiledAuditPolicy | Promise<CompiledAuditPolicy> {
    const entry = this.entries.get(projectId);
    if (entry && this.clock.now() - entry.checkedAt < this.refreshMs) return entry.policy;
    let pending = this.loading.get(projectId);
    if (!pending) {
      pending = this.refresh(projectId).finally(() => this.loading.delete(projectId));
      this.loading.set(projectId, pending);
    }
    return pending;
  }

  /** Installs a configuration this node has just written, so the next event obeys it. */
  put(projectId: string, stored: VersionedAuditConfig): CompiledAuditPolicy {
    return this.install(projectId, stored);
  }

  private async refresh(projectId: string): Promise<CompiledAuditPolicy> {
    const checkedAt = this.clock.now();
    const stored = await this.load(projectId);
    return this.install(projectId, stored ?? { version: 0, config: undefined }, checkedAt);
  }

  private install(projectId: string, stored: { version: number; config: AuditConfig | undefined }, checkedAt = this.clock.now()): CompiledAuditPolicy {
    const current = this.entries.get(projectId);
    if (current && current.policy.version >= stored.version) {
      current.checkedAt = Math.max(current.checkedAt, checkedAt);
      return current.policy;
    }
    const policy = compileAuditPolicy(stored.config, stored.version);
    if (stored.config?.auditFilter) this.compilations++;
    if (policy.warning) this.onWarning?.(projectId, policy.warning);
    this.entries.set(projectId, { policy, checkedAt });
    return policy;
  }
}
