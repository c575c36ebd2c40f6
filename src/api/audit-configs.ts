/**
 * Per-project audit configurations, kept in the store's versioned settings (one document per
 * project, named `audit-config`, every version kept as its history), and the compiled policies
 * ingest applies. Every dialect reads and changes configurations through here, so there is one
 * compare-and-set path and one cache to keep fresh.
 */
import { UNCONFIGURED, applyAuditConfigPatch, isEmptyPatch, type AuditConfig, type AuditConfigPatch } from '../policy/audit-config.ts';
import { AuditPolicies, type AuditPoliciesOptions } from '../policy/audit-policies.ts';
import type { CompiledAuditPolicy } from '../policy/audit-policy.ts';
import { VersionMismatchError, type SettingRecord, type Store } from '../store/store.ts';
import { isoTime, systemClock, type Clock } from '../core/clock.ts';

/** The setting that holds a project's audit configuration. */
export const AUDIT_CONFIG_SETTING = 'audit-config';

/** Who made a version, kept beside it for the history. */
export interface AuditConfigChange {
  /** The key that made the change. */
  changedBy: string;
  /** The API it came through: `native`, `atlas-v2`, `atlas-v1.0`. */
  via: string;
}

type StoredAuditConfig = AuditConfig & Partial<AuditConfigChange>;

/** A configuration with its version (0: never configured) and when it was written. */
export interface AuditConfigState {
  config: AuditConfig;
  version: number;
  updatedAt: string | null;
  change?: AuditConfigChange;
}

/** Concurrent writers retry their merge on a fresh read this many times before giving up. */
const MAX_WRITE_ATTEMPTS = 5;

function configOf(stored: StoredAuditConfig): AuditConfig {
  const { enabled, auditFilter, auditAuthorizationSuccess, configurationType } = stored;
  return { enabled, auditAuthorizationSuccess, configurationType, ...(auditFilter !== undefined ? { auditFilter } : {}) };
}

function stateOf(record: SettingRecord<StoredAuditConfig> | undefined): AuditConfigState {
  if (!record) return { config: { ...UNCONFIGURED }, version: 0, updatedAt: null };
  const { changedBy, via } = record.value;
  return { config: configOf(record.value), version: record.version, updatedAt: record.updatedAt, ...(changedBy && via ? { change: { changedBy, via } } : {}) };
}

function sameConfig(a: AuditConfig, b: AuditConfig): boolean {
  return a.enabled === b.enabled && a.auditFilter === b.auditFilter && a.auditAuthorizationSuccess === b.auditAuthorizationSuccess && a.configurationType === b.configurationType;
}

export class AuditConfigs {
  readonly policies: AuditPolicies;
  private readonly clock: Clock;

  constructor(
    private readonly store: Store,
    options: AuditPoliciesOptions & { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.policies = new AuditPolicies(async (projectId) => {
      const record = await store.getSetting<StoredAuditConfig>(projectId, AUDIT_CONFIG_SETTING);
      return record && { version: record.version, config: configOf(record.value) };
    }, options);
  }

  /** The project's configuration now (UNCONFIGURED at version 0 if it never had one). */
  async current(projectId: string): Promise<AuditConfigState> {
    return stateOf(await this.store.getSetting<StoredAuditConfig>(projectId, AUDIT_CONFIG_SETTING));
  }

  /** Every version, oldest first. */
  async history(projectId: string): Promise<AuditConfigState[]> {
    return (await this.store.settingHistory<StoredAuditConfig>(projectId, AUDIT_CONFIG_SETTING)).map(stateOf);
  }

  /**
   * Applies a patch (merge semantics) onto `baseOf(current)`, the configuration as the calling
   * dialect shows it, and writes the result as a new version with compare-and-set, merging again
   * on a fresh read if another writer got there first. Writes nothing for an empty patch or one
   * that changes nothing; throws VT_ERR_AUDIT_FILTER_INVALID, writing nothing, for a filter that
   * cannot be used. Durable on return; this node's ingest applies the new version at once.
   */
  async update(
    projectId: string,
    patch: AuditConfigPatch,
    change: AuditConfigChange,
    baseOf: (config: AuditConfig) => AuditConfig = (config) => config,
  ): Promise<AuditConfigState> {
    if (isEmptyPatch(patch)) return this.current(projectId);
    for (let attempt = 1; ; attempt++) {
      const current = await this.current(projectId);
      const config = applyAuditConfigPatch(baseOf(current.config), patch);
      // A change that changes nothing (an empty PATCH, say) writes no version.
      if (sameConfig(config, current.config)) return current;
      const value: StoredAuditConfig = { ...config, ...change };
      try {
        const record = await this.store.putSetting(projectId, AUDIT_CONFIG_SETTING, value, { ifVersion: current.version, at: isoTime(this.clock.now()) });
        this.policies.put(projectId, { version: record.version, config: configOf(value) });
        return stateOf(record);
      } catch (error) {
        if (!(error instanceof VersionMismatchError) || attempt >= MAX_WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** The compiled policy ingest applies to the project's events. */
  policy(projectId: string): CompiledAuditPolicy | Promise<CompiledAuditPolicy> {
    return this.policies.get(projectId);
  }
}
