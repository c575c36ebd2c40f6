/**
 * What the audit configuration decides for one incoming event (spec/atlas.md §9.3): record it,
 * or drop it and say why. Compiled once per configuration version; `decideAudit` is pure.
 *
 * The order of §9.3: `enabled`, then the `auditAuthorizationSuccess` gate (successful
 * `authCheck` events are dropped unless the flag is on, whatever the filter says), then the
 * filter, matched against the event as posted with its Extended JSON decoded.
 */
import { UNCONFIGURED, type AuditConfig } from './audit-config.ts';
import { compileAuditFilter, type CompiledAuditFilter } from './audit-filter.ts';
import { decodeExtendedJson } from './extended-json.ts';

/** Why an event was not recorded; the `reason` of its receipt. */
export const DROP_REASONS = {
  disabled: 'AUDIT_DISABLED',
  authorizationSuccess: 'AUTHORIZATION_SUCCESS_NOT_AUDITED',
  filter: 'FILTER_NOT_MATCHED',
} as const;
export type DropReason = (typeof DROP_REASONS)[keyof typeof DROP_REASONS];

export type AuditDecision = { record: true } | { record: false; reason: DropReason };

const RECORD: AuditDecision = Object.freeze({ record: true });
const DROPPED = Object.fromEntries(Object.entries(DROP_REASONS).map(([k, reason]) => [k, Object.freeze({ record: false, reason })])) as Record<
  keyof typeof DROP_REASONS,
  AuditDecision
>;

export interface CompiledAuditPolicy {
  /** The setting's version this was compiled from (0: never configured). */
  readonly version: number;
  readonly config: Readonly<AuditConfig>;
  /** True when every event is recorded whatever it holds, so callers may skip `decideAudit`. */
  readonly recordsEverything: boolean;
  /** Undefined when there is no filter, or `{}`. */
  readonly filter: CompiledAuditFilter | undefined;
  /** Set when the filter matches nothing because it uses operators Veritrail does not evaluate. */
  readonly warning?: string;
}

/**
 * Compiles a configuration. A stored filter that no longer compiles (it passed when it was
 * written, so only a library upgrade can cause this) is ignored, with a warning: an audit log
 * should keep too much rather than lose events to a filter nobody can read.
 */
export function compileAuditPolicy(config: Readonly<AuditConfig> = UNCONFIGURED, version = 0): CompiledAuditPolicy {
  let filter: CompiledAuditFilter | undefined;
  let warning: string | undefined;
  if (config.auditFilter) {
    try {
      filter = compileAuditFilter(config.auditFilter);
      warning = filter.warning;
      if (filter.matchesAll) filter = undefined;
    } catch (error) {
      filter = undefined;
      warning = `the stored filter no longer compiles (${(error as Error).message}); it is ignored`;
    }
  }
  const recordsEverything = config.enabled && config.auditAuthorizationSuccess && filter === undefined;
  return { version, config, recordsEverything, filter, ...(warning ? { warning } : {}) };
}

/** A successful `authCheck` (§9.2): `result` 0, possibly sent as `{"$numberInt": "0"}`. */
function isAuthCheckSuccess(event: Record<string, unknown>): boolean {
  return event.atype === 'authCheck' && decodeExtendedJson(event.result) === 0;
}

/**
 * Record or drop `event` (a JSON object as posted). `plainJson: true` promises that no member
 * name in the event starts with `$` (the caller saw no `"$` in its JSON text), which skips the
 * Extended JSON walk, the larger part of a decision's cost. A filter that throws on an odd event
 * records the event: losing it would be worse.
 */
export function decideAudit(policy: CompiledAuditPolicy, event: Record<string, unknown>, hints: { plainJson?: boolean } = {}): AuditDecision {
  if (!policy.config.enabled) return DROPPED.disabled!;
  if (!policy.config.auditAuthorizationSuccess && isAuthCheckSuccess(event)) return DROPPED.authorizationSuccess!;
  if (!policy.filter) return RECORD;
  try {
    const decoded = hints.plainJson ? event : (decodeExtendedJson(event) as Record<string, unknown>);
    return policy.filter.test(decoded) ? RECORD : DROPPED.filter!;
  } catch {
    return RECORD;
  }
}

/**
 * The policy as preparation's drop decider (log/prepare.ts DropDecider): undefined when it
 * records everything, so preparation skips the decision altogether. Extended JSON is decoded
 * only for events whose canonical text has a `"$` member, which plain JSON events never do.
 */
export function policyDecider(policy: CompiledAuditPolicy): ((event: Record<string, unknown>, canonical: string) => string | undefined) | undefined {
  if (policy.recordsEverything) return undefined;
  return (event, canonical) => {
    const decision = decideAudit(policy, event, { plainJson: !canonical.includes('"$') });
    return decision.record ? undefined : decision.reason;
  };
}
