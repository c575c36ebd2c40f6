/**
 * A destination: where a project's events are forwarded (CloudWatch Logs, syslog, a webhook).
 * Each destination is one versioned setting, `destination/<id>`, in the project's settings
 * (store.ts): its version is the ETag of the dialects that have one, and its history is the
 * record of every change. Secrets a sink needs in clear are stored sealed (core/secret-box.ts).
 *
 * This file holds the stored shape, its defaults and the one validation both the native API
 * and the Qumulo dialect run before a write.
 */
import { isIP } from 'node:net';
import type { ErrorDetail } from '../core/errors.ts';

export const DESTINATION_KINDS = ['cloudwatch', 'syslog', 'webhook'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** Setting names of destinations start with this. */
export const DESTINATION_SETTING_PREFIX = 'destination/';

export function destinationSettingName(id: string): string {
  return DESTINATION_SETTING_PREFIX + id;
}

/** Where a new destination starts: the next event committed (`now`), or index 0. */
export type StartFrom = 'now' | 'beginning';

interface DestinationBase {
  name: string;
  enabled: boolean;
  startFrom: StartFrom;
  /** Set on deletion: settings keep their history, so a deleted destination is a tombstone. */
  deleted?: boolean;
}

/** Message bodies: Veritrail's JSON line, or the Qumulo shapes of spec/qumulo.md §4.1. */
export type CloudWatchFormat = 'json' | 'qumulo-json';
export type SyslogFormat = 'json' | 'csv' | 'qumulo-json';

export interface CloudWatchDestination extends DestinationBase {
  kind: 'cloudwatch';
  /** AWS region; may be empty only while disabled (the Qumulo initial value). */
  region: string;
  logGroupName: string;
  /** Default `veritrail-<projectId>`. */
  logStreamName?: string;
  /** Create the log group when it is missing. Qumulo-style targets require it to exist. */
  createLogGroup: boolean;
  format: CloudWatchFormat;
  /** Endpoint override (`http://127.0.0.1:4566`); default: the node's, else AWS's. */
  endpoint?: string;
  /** Static credentials; without them the standard AWS chain (environment, files, roles). */
  accessKeyId?: string;
  /** Sealed. */
  secretAccessKey?: string;
}

export type SyslogTransport = 'tcp' | 'tls' | 'udp';

export interface SyslogDestination extends DestinationBase {
  kind: 'syslog';
  /** IP address or host name; may be empty only while disabled. */
  host: string;
  port: number;
  transport: SyslogTransport;
  format: SyslogFormat;
  /** RFC 5424 APP-NAME. Default `veritrail` (`qumulo` for the Qumulo dialect). */
  appName: string;
  /** PEM certificates trusted for TLS, instead of the system's. */
  tlsCa?: string;
  /** Check the server's TLS certificate. Default true. */
  tlsRejectUnauthorized?: boolean;
  /** Qumulo's `local_enabled`: kept and returned, not acted on (see README). */
  localEnabled?: boolean;
}

export interface WebhookDestination extends DestinationBase {
  kind: 'webhook';
  url: string;
  /** Sealed HMAC-SHA256 key. */
  secret: string;
}

export type Destination = CloudWatchDestination | SyslogDestination | WebhookDestination;

/** The members of each kind whose values are sealed at rest and never returned. */
export const SECRET_MEMBERS: Record<DestinationKind, readonly string[]> = {
  cloudwatch: ['secretAccessKey'],
  syslog: [],
  webhook: ['secret'],
};

/** The purpose a secret of a destination is sealed for: it cannot be opened for another. */
export function secretPurpose(projectId: string, destinationId: string, member: string): string {
  return `destination:${projectId}:${destinationId}:${member}`;
}

/** The default syslog port of each transport (RFC 5426, RFC 6587 practice, RFC 5425). */
export const DEFAULT_SYSLOG_PORTS: Record<SyslogTransport, number> = { udp: 514, tcp: 514, tls: 6514 };

/** spec/qumulo.md §2.1. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** CloudWatch Logs group names (spec/cloudtrail.md §7). */
export const LOG_GROUP_PATTERN = /^[.\-_/#A-Za-z0-9]{1,512}$/;
/** CloudWatch Logs stream names: 1-512 characters, no ':' or '*'. */
export const LOG_STREAM_PATTERN = /^[^:*]{1,512}$/;
/** RFC 1123 host names. */
const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
/** RFC 5424 APP-NAME: 1-48 printable US-ASCII characters. */
const APP_NAME = /^[!-~]{1,48}$/;

export function isHostAddress(value: string): boolean {
  return isIP(value) !== 0 || HOST_NAME.test(value);
}

/**
 * Every problem with a destination about to be stored, as `details` of a 400. Enabling needs
 * every field a sink needs; a disabled destination may keep empty ones (Qumulo's initial
 * values are empty strings).
 */
export function destinationProblems(d: Destination): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const need = (field: string, value: string, ok: boolean, rule: string) => {
    if (value === '') {
      if (d.enabled) problems.push({ field, problem: 'is required when the destination is enabled' });
    } else if (!ok) problems.push({ field, problem: rule });
  };
  if (d.name.length > 200) problems.push({ field: 'name', problem: 'must be at most 200 characters' });
  switch (d.kind) {
    case 'cloudwatch':
      need('region', d.region, REGION_PATTERN.test(d.region), 'must be an AWS region such as us-west-2');
      need('logGroupName', d.logGroupName, LOG_GROUP_PATTERN.test(d.logGroupName), 'must be 1 to 512 of the characters . - _ / # A-Z a-z 0-9');
      if (d.logStreamName !== undefined && !LOG_STREAM_PATTERN.test(d.logStreamName)) problems.push({ field: 'logStreamName', problem: "must be 1 to 512 characters without ':' or '*'" });
      if (d.endpoint !== undefined && !isHttpUrl(d.endpoint)) problems.push({ field: 'endpoint', problem: 'must be an http or https URL' });
      if ((d.accessKeyId === undefined) !== (d.secretAccessKey === undefined)) problems.push({ field: 'secretAccessKey', problem: 'accessKeyId and secretAccessKey go together' });
      break;
    case 'syslog':
      need('host', d.host, isHostAddress(d.host), 'must be an IP address, a host name or an FQDN');
      if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) problems.push({ field: 'port', problem: 'must be an integer from 1 to 65535' });
      if (!APP_NAME.test(d.appName)) problems.push({ field: 'appName', problem: 'must be 1 to 48 printable ASCII characters without spaces (RFC 5424)' });
      if (d.tlsCa !== undefined && d.transport !== 'tls') problems.push({ field: 'tlsCa', problem: 'applies only to the tls transport' });
      break;
    case 'webhook':
      need('url', d.url, isHttpUrl(d.url), 'must be an http or https URL');
      if (d.secret === '') problems.push({ field: 'secret', problem: 'is required' });
      break;
  }
  return problems;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
