/**
 * The Atlas auditing resource <-> Veritrail's audit configuration, and the two wire versions of
 * the API (spec/atlas.md §2-§4). Pure functions, no I/O.
 */
import { VT_ERR_BODY_FIELD_UNKNOWN, VT_ERR_BODY_NOT_JSON, VT_ERR_NOT_ACCEPTABLE, VT_ERR_VALIDATION, withDetails } from '../../../core/errors.ts';
import type { AuditConfig, AuditConfigPatch } from '../../../policy/audit-config.ts';

/** The `AuditLog` resource, keys in Atlas's (alphabetical) order. */
export interface AuditLog {
  auditAuthorizationSuccess: boolean;
  auditFilter?: string;
  configurationType: AuditConfig['configurationType'];
  enabled: boolean;
}

/**
 * What Atlas shows for a project that was never configured (recorded: `auditFilter` absent,
 * 78 bytes). Veritrail records everything for such a project; Atlas clients see Atlas's body.
 */
export const NEVER_CONFIGURED: Readonly<AuditLog> = Object.freeze({ auditAuthorizationSuccess: false, configurationType: 'NONE', enabled: false });

export function toAuditLog(config: AuditConfig): AuditLog {
  if (config.configurationType === 'NONE') return { ...NEVER_CONFIGURED };
  return {
    auditAuthorizationSuccess: config.auditAuthorizationSuccess,
    ...(config.auditFilter !== undefined ? { auditFilter: config.auditFilter } : {}),
    configurationType: config.configurationType,
    enabled: config.enabled,
  };
}

/**
 * The configuration an Atlas PATCH merges onto: what an Atlas client was shown. For a
 * never-configured project that is Atlas's default (disabled), so `{"auditFilter": …}` alone
 * leaves auditing off there, as it does on Atlas.
 */
export function atlasMergeBase(config: AuditConfig): AuditConfig {
  return config.configurationType === 'NONE' ? { enabled: false, auditAuthorizationSuccess: false, configurationType: 'NONE' } : config;
}

const PATCH_FIELDS = new Set(['enabled', 'auditFilter', 'auditAuthorizationSuccess', 'configurationType']);

/** A boolean, or "true"/"false" in any case (a Terraform resource sends `{"enabled":"false"}`). */
function booleanField(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw withDetails(new VT_ERR_VALIDATION(`${field} must be a boolean`), [{ field, problem: 'must be a boolean' }]);
}

/**
 * A PATCH body as a configuration patch. `configurationType` is read-only and ignored (§4.2);
 * an unknown field is VT_ERR_BODY_FIELD_UNKNOWN, a wrong type VT_ERR_VALIDATION, anything but a
 * JSON object VT_ERR_BODY_NOT_JSON.
 */
export function fromAuditLogPatch(body: unknown): AuditConfigPatch {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new VT_ERR_BODY_NOT_JSON('the body must be a JSON object');
  const fields = body as Record<string, unknown>;
  for (const field of Object.keys(fields)) {
    if (!PATCH_FIELDS.has(field)) throw withDetails(new VT_ERR_BODY_FIELD_UNKNOWN(field), [{ field, problem: 'is not a field of AuditLog' }]);
  }
  const filter = fields.auditFilter;
  if (filter !== undefined && filter !== null && typeof filter !== 'string') {
    throw withDetails(new VT_ERR_VALIDATION('auditFilter must be a string'), [{ field: 'auditFilter', problem: 'must be a string' }]);
  }
  return {
    enabled: booleanField(fields, 'enabled'),
    auditAuthorizationSuccess: booleanField(fields, 'auditAuthorizationSuccess'),
    auditFilter: filter as string | null | undefined,
  };
}

/** `envelope` and `pretty` take "true"; anything else is false (§4.3). */
export function queryFlag(value: unknown): boolean {
  return typeof value === 'string' && value.toLowerCase() === 'true';
}

/**
 * The response text: compact, or with `pretty` in Jackson's style (two spaces, `"key" : value`);
 * with `envelope` wrapped as `{"content": …, "status": …}` (IPA-115).
 */
export function renderAtlas(body: unknown, status: number, options: { pretty: boolean; envelope: boolean }): string {
  const value = options.envelope ? { content: body, status } : body;
  if (!options.pretty) return JSON.stringify(value);
  // Each key starts a line in JSON.stringify's indented output; values never hold a raw newline.
  return JSON.stringify(value, null, 2).replace(/^(\s*"(?:[^"\\]|\\.)*"): /gm, '$1 : ');
}

/**
 * One wire version of the auditing API. v2 negotiates the resource version through `Accept`
 * and answers PATCH with 202; v1.0 has no negotiation and answers 200.
 */
export abstract class AtlasApiVersion {
  /** The path segment after /api/atlas/, and the `via` of configuration changes. */
  abstract readonly path: 'v2' | 'v1.0';
  abstract readonly patchStatus: number;
  /** The Content-Type of a success for this `Accept`; throws VT_ERR_NOT_ACCEPTABLE (406). */
  abstract negotiate(accept: string | undefined): string;
}

/** The only version of the auditLog resource (§1); any later requested date resolves to it. */
export const AUDIT_LOG_RESOURCE_VERSION = '2023-01-01';
const VERSIONED_MEDIA_TYPE = /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$/i;

/** True when `date` is a real calendar date (2023-02-30 is not). */
function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date);
}

class AtlasV2 extends AtlasApiVersion {
  readonly path = 'v2';
  readonly patchStatus = 202;
  negotiate(accept: string | undefined): string {
    // Resolution (§2): the newest resource version dated on or before the requested date.
    const requested = (accept ?? '')
      .split(',')
      .map((range) => VERSIONED_MEDIA_TYPE.exec(range.split(';')[0]!.trim())?.[1])
      .filter((date): date is string => date !== undefined && isCalendarDate(date) && date >= AUDIT_LOG_RESOURCE_VERSION);
    if (requested.length === 0) {
      throw new VT_ERR_NOT_ACCEPTABLE(JSON.stringify(accept ?? '(none)'), `application/vnd.atlas.${AUDIT_LOG_RESOURCE_VERSION}+json`);
    }
    return `application/vnd.atlas.${AUDIT_LOG_RESOURCE_VERSION}+json;charset=utf-8`;
  }
}

class AtlasV1 extends AtlasApiVersion {
  readonly path = 'v1.0';
  readonly patchStatus = 200;
  negotiate(): string {
    return 'application/json';
  }
}

/** Both versions, each served under /api/atlas/<path>/. */
export const ATLAS_API_VERSIONS: readonly AtlasApiVersion[] = [new AtlasV2(), new AtlasV1()];
