/**
 * Destinations from the native API's input (whose field names these are): which fields each
 * kind takes, their defaults, and a PATCH as a merge. Pure functions. The Qumulo dialect has
 * its own fields and translates them itself (api/compat/qumulo/translate.ts).
 */
import type { ErrorDetail } from '../core/errors.ts';
import { DEFAULT_SYSLOG_PORTS, SECRET_MEMBERS, type Destination, type DestinationKind, type StartFrom, type SyslogTransport } from './destination.ts';

/** Every settable field, as the native API names them. Secrets are in clear here. */
export interface DestinationInput {
  name?: string;
  enabled?: boolean;
  startFrom?: StartFrom;
  region?: string;
  logGroupName?: string;
  logStreamName?: string;
  createLogGroup?: boolean;
  format?: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  host?: string;
  port?: number;
  transport?: SyslogTransport;
  appName?: string;
  tlsCa?: string;
  tlsRejectUnauthorized?: boolean;
  localEnabled?: boolean;
  url?: string;
  secret?: string;
}

const COMMON = ['name', 'enabled', 'startFrom'] as const;
/** The fields each kind takes, required ones first. */
const FIELDS: Record<DestinationKind, { required: readonly string[]; optional: readonly string[] }> = {
  cloudwatch: { required: ['region', 'logGroupName'], optional: ['logStreamName', 'createLogGroup', 'format', 'endpoint', 'accessKeyId', 'secretAccessKey'] },
  syslog: { required: ['host'], optional: ['port', 'transport', 'format', 'appName', 'tlsCa', 'tlsRejectUnauthorized', 'localEnabled'] },
  webhook: { required: ['url', 'secret'], optional: [] },
};
const FORMATS: Record<DestinationKind, readonly string[]> = {
  cloudwatch: ['json', 'qumulo-json'],
  syslog: ['json', 'csv', 'qumulo-json'],
  webhook: ['json'],
};
/** Webhook HMAC keys shorter than this are refused: 128 bits at least. */
export const MIN_WEBHOOK_SECRET_LENGTH = 16;

/** Problems with input for a kind: unknown fields, missing required ones (on create), bad enums. */
export function inputProblems(kind: DestinationKind, input: DestinationInput, creating: boolean): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const { required, optional } = FIELDS[kind];
  const allowed = new Set<string>([...COMMON, ...required, ...optional]);
  for (const field of Object.keys(input)) {
    if (!allowed.has(field)) problems.push({ field, problem: `does not apply to a ${kind} destination` });
    else if (field === 'startFrom' && !creating) problems.push({ field, problem: 'can only be given when the destination is created' });
  }
  if (creating) for (const field of required) if ((input as Record<string, unknown>)[field] === undefined) problems.push({ field, problem: 'is required' });
  if (input.format !== undefined && !FORMATS[kind].includes(input.format)) problems.push({ field: 'format', problem: `must be one of ${FORMATS[kind].join(', ')}` });
  if (input.secret !== undefined && input.secret.length < MIN_WEBHOOK_SECRET_LENGTH) problems.push({ field: 'secret', problem: `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters` });
  if (input.secretAccessKey === '') problems.push({ field: 'secretAccessKey', problem: 'may not be empty' });
  return problems;
}

/** The secrets of an input, in clear, by member; the rest of the input without them. */
export function splitSecrets(kind: DestinationKind, input: DestinationInput): { fields: DestinationInput; secrets: Record<string, string> } {
  const fields: Record<string, unknown> = { ...input };
  const secrets: Record<string, string> = {};
  for (const member of SECRET_MEMBERS[kind]) {
    const value = fields[member];
    if (typeof value === 'string') secrets[member] = value;
    delete fields[member];
  }
  return { fields: fields as DestinationInput, secrets };
}

/** A new destination of `kind` from input, with every default filled in. */
export function newDestination(kind: DestinationKind, input: DestinationInput): Destination {
  const base = { name: input.name ?? kind, enabled: input.enabled ?? true, startFrom: input.startFrom ?? 'now' };
  switch (kind) {
    case 'cloudwatch':
      return patchDestination(
        { kind, ...base, region: '', logGroupName: '', createLogGroup: false, format: 'json' },
        input,
      );
    case 'syslog': {
      const transport = input.transport ?? 'tcp';
      return patchDestination({ kind, ...base, host: '', port: DEFAULT_SYSLOG_PORTS[transport], transport, format: 'json', appName: 'veritrail' }, input);
    }
    case 'webhook':
      return patchDestination({ kind, ...base, url: '', secret: '' }, input);
  }
}

/** `current` with every field the input gives replaced (a JSON merge of known fields). */
export function patchDestination<D extends Destination>(current: D, input: DestinationInput): D {
  const out: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(input)) if (value !== undefined && field !== 'kind' && field !== 'startFrom') out[field] = value;
  return out as D;
}
