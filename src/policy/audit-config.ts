/**
 * A project's audit configuration: the four fields of Atlas's `AuditLog` resource
 * (spec/atlas.md §3.1), which decide what Veritrail records for the project.
 *
 * A project that was never configured (`configurationType: "NONE"`) records everything, as
 * Veritrail did before audit configuration existed. Its effective configuration says so in the
 * model's own terms: enabled, no filter, successful authCheck events kept. Each dialect shows
 * that state in its own way (Atlas shows its documented never-configured body).
 */
import { VT_ERR_AUDIT_FILTER_INVALID, withDetails } from '../core/errors.ts';
import { AuditFilterError, compileAuditFilter } from './audit-filter.ts';

/** How a configuration was made: never (`NONE`), Atlas's UI builder, or JSON / the API. */
export const CONFIGURATION_TYPES = ['NONE', 'FILTER_BUILDER', 'FILTER_JSON'] as const;
export type ConfigurationType = (typeof CONFIGURATION_TYPES)[number];

export interface AuditConfig {
  /** False: no event of the project is recorded. */
  enabled: boolean;
  /**
   * A MongoDB query document (JSON or shell syntax) an event must match to be recorded, kept
   * verbatim as sent (trimmed). Absent: every event that passes the authCheck gate.
   */
  auditFilter?: string;
  /** False: successful `authCheck` events are dropped whatever the filter says (§9.3.2). */
  auditAuthorizationSuccess: boolean;
  /** Read-only for clients; `FILTER_JSON` after any change made through an API. */
  configurationType: ConfigurationType;
}

/** The configuration of a project that was never configured: record everything. */
export const UNCONFIGURED: Readonly<AuditConfig> = Object.freeze({ enabled: true, auditAuthorizationSuccess: true, configurationType: 'NONE' });

/** A change: only the fields present change (merge semantics, §4.2). `auditFilter: null` removes the filter. */
export interface AuditConfigPatch {
  enabled?: boolean;
  auditFilter?: string | null;
  auditAuthorizationSuccess?: boolean;
}

/** True when the patch names no field: a no-op that writes nothing (§4.2, proposed). */
export function isEmptyPatch(patch: AuditConfigPatch): boolean {
  return patch.enabled === undefined && patch.auditFilter === undefined && patch.auditAuthorizationSuccess === undefined;
}

/**
 * `base` with `patch` applied; `configurationType` becomes `FILTER_JSON` (§4.2). A new filter is
 * trimmed (Atlas drops a trailing newline) and must parse and compile, or this throws
 * VT_ERR_AUDIT_FILTER_INVALID (details name `auditFilter`) and nothing changes. An empty or
 * null filter removes the filter.
 */
export function applyAuditConfigPatch(base: Readonly<AuditConfig>, patch: AuditConfigPatch): AuditConfig {
  const next: AuditConfig = {
    enabled: patch.enabled ?? base.enabled,
    auditAuthorizationSuccess: patch.auditAuthorizationSuccess ?? base.auditAuthorizationSuccess,
    configurationType: 'FILTER_JSON',
  };
  const filter = patch.auditFilter === undefined ? base.auditFilter : (patch.auditFilter ?? '').trim();
  if (typeof patch.auditFilter === 'string' && filter) {
    try {
      compileAuditFilter(filter);
    } catch (error) {
      if (!(error instanceof AuditFilterError)) throw error;
      throw withDetails(new VT_ERR_AUDIT_FILTER_INVALID(error.message), [{ field: 'auditFilter', problem: error.message }]);
    }
  }
  if (filter) next.auditFilter = filter;
  return next;
}
