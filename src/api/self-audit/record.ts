/**
 * Self-audit records: what Veritrail itself was asked to do, written as CloudTrail records
 * (spec/cloudtrail.md §4; field names and types as there) so the tools that read CloudTrail
 * read them too. eventSource is `veritrail.api`; userIdentity describes the Veritrail key.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../../auth/principal.ts';
import { scrubSecrets, withoutSecrets } from '../redact.ts';

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

/** CloudTrail's cap on requestParameters (spec/cloudtrail.md §4); larger ones are left out. */
const MAX_PARAMETERS_BYTES = 100 * 1024;
/** CloudTrail's cap on userAgent, errorCode and errorMessage. */
const MAX_TEXT = 1024;

/** One CloudTrail record (eventVersion 1.11) for one call; secrets are removed here. */
export function selfAuditRecord(call: SelfAuditCall): Record<string, unknown> {
  let requestParameters = emptyToNull(withoutSecrets(call.requestParameters));
  const omitted = requestParameters !== null && Buffer.byteLength(JSON.stringify(requestParameters)) > MAX_PARAMETERS_BYTES;
  if (omitted) requestParameters = null;
  const record: Record<string, unknown> = {
    eventVersion: '1.11',
    userIdentity: userIdentity(call.principal),
    // CloudTrail writes eventTime to the second, in UTC.
    eventTime: new Date(call.timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'veritrail.api',
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: call.sourceIp,
    ...(call.userAgent ? { userAgent: scrubSecrets(call.userAgent).slice(0, MAX_TEXT) } : {}),
    requestParameters,
    responseElements: call.readOnly || call.error ? null : emptyToNull(withoutSecrets(call.responseElements)),
    ...(omitted ? { additionalEventData: { requestParametersOmitted: `larger than ${MAX_PARAMETERS_BYTES} bytes` } } : {}),
    requestID: call.requestId,
    eventID: randomUUID(),
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
  };
  if (call.error) {
    record.errorCode = call.error.code.slice(0, MAX_TEXT);
    // Scrubbed before it is cut, so a cut can never leave half a secret behind.
    record.errorMessage = scrubSecrets(call.error.message).slice(0, MAX_TEXT);
  }
  return record;
}

function emptyToNull(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return null;
  return value;
}
