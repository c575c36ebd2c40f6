/**
 * Self-audit records: what Veritrail itself was asked to do, written as CloudTrail records
 * (spec/cloudtrail.md §4; field names and types as there) so the tools that read CloudTrail
 * read them too. eventSource is `veritrail.api`; userIdentity describes the Veritrail key.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';

/** CloudTrail's own placeholder for values it will not show. */
export const REDACTED = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/**
 * Members whose values are secrets wherever they appear: keys, passwords, tokens, private keys,
 * HMAC and AWS secret keys. Matched on the member name, at any depth.
 */
const SECRET_MEMBER = /^(key|authorization|credentials?|api_?key|private_?key|hmac)$|secret|passw(or)?d|token/i;

/** A deep copy of `value` with every secret member's value replaced by REDACTED. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const [name, member] of Object.entries(value)) out[name] = SECRET_MEMBER.test(name) ? REDACTED : withoutSecrets(member);
  return out;
}

export interface SelfAuditCall {
  /** The API action, e.g. CreateProject, DeleteKey, ExportEvents. */
  eventName: string;
  readOnly: boolean;
  /** The caller, when it authenticated. */
  principal: Principal | undefined;
  sourceIp: string;
  userAgent: string | undefined;
  requestId: string;
  requestParameters: unknown;
  responseElements: unknown;
  /** Present when the call failed. */
  error?: { code: string; message: string };
  region: string;
  timeMs: number;
}

/** The CloudTrail userIdentity of a Veritrail key (or of nobody, for a failed sign-in). */
function userIdentity(principal: Principal | undefined): Record<string, unknown> {
  if (!principal) return { type: 'Unknown' };
  const account = principal.projectId ?? 'organization';
  return {
    type: 'IAMUser',
    principalId: principal.keyId,
    arn: `arn:veritrail:iam::${account}:key/${principal.keyId}`,
    accountId: account,
    accessKeyId: principal.keyId,
    userName: principal.role,
  };
}

/** One CloudTrail record (eventVersion 1.11) for one call; secrets are removed here. */
export function selfAuditRecord(call: SelfAuditCall): Record<string, unknown> {
  const record: Record<string, unknown> = {
    eventVersion: '1.11',
    userIdentity: userIdentity(call.principal),
    // CloudTrail writes eventTime to the second, in UTC.
    eventTime: new Date(call.timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'veritrail.api',
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: call.sourceIp,
    ...(call.userAgent ? { userAgent: call.userAgent.slice(0, 1024) } : {}),
    requestParameters: emptyToNull(withoutSecrets(call.requestParameters)),
    responseElements: call.readOnly || call.error ? null : emptyToNull(withoutSecrets(call.responseElements)),
    requestID: call.requestId,
    eventID: randomUUID(),
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
  };
  if (call.error) {
    record.errorCode = call.error.code;
    record.errorMessage = call.error.message.slice(0, 1024);
  }
  return record;
}

function emptyToNull(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return null;
  return value;
}
