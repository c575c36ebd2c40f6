/**
 * The Qumulo audit message shapes (spec/qumulo.md §4.1), filled from a Veritrail event by the
 * mapping of §4.2. Veritrail events come in several dialects, so each Qumulo field is looked up
 * in the members the dialects use for it, in order.
 */
import { isIP } from 'node:net';
import type { ForwardEvent } from './forward-event.ts';

/** The Qumulo fields of one event, all strings (empty when unknown). */
export interface QumuloFields {
  userIp: string;
  user: string;
  protocol: string;
  operation: string;
  status: string;
  fileId: string;
  path: string;
  target: string;
}

type Json = Record<string, unknown>;

function pick(event: Json, paths: readonly string[]): string {
  for (const path of paths) {
    let value: unknown = event;
    for (const part of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Json)[part] : undefined;
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  }
  return '';
}

/** Values that mean success in the dialects Veritrail ingests. */
const SUCCESS = /^(ok|success|succeeded|successful|true|allow(ed)?|2\d\d)$/i;

export function qumuloFields(e: ForwardEvent): QumuloFields {
  const event = e.event;
  const source = pick(event, ['source', 'sourceIPAddress', 'sourceIp', 'ip', 'remoteAddress', 'user_ip', 'ip_address']);
  // A CloudTrail failure carries errorCode; other dialects a status word or code.
  const errorCode = pick(event, ['errorCode']);
  const rawStatus = pick(event, ['status', 'outcome', 'result']);
  const status = errorCode || (rawStatus === '' || SUCCESS.test(rawStatus) ? 'ok' : rawStatus);
  return {
    userIp: isIP(source) ? source : '',
    user: pick(event, ['actor', 'user', 'userIdentity.userName', 'userIdentity.arn', 'users.user', 'user_id.name']),
    // Veritrail's own records (self-audit) are `internal`; everything ingested came over HTTP.
    protocol: event.eventSource === 'veritrail.api' ? 'internal' : pick(event, ['protocol']) || 'api',
    operation: pick(event, ['action', 'operation', 'eventName', 'atype']),
    status,
    fileId: pick(event, ['fileId', 'file_id', 'objectId', 'object_id']),
    path: pick(event, ['target', 'path', 'resource', 'resources.0.ARN']),
    target: pick(event, ['destination', 'targetPath', 'newPath', 'renameTo']),
  };
}

/** Qumulo strips CR and LF from the user and both paths. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]/g, '');
}

/** A quoted CSV field; an embedded quote is doubled, as RFC 4180 does (qumulo.md §4.1). */
function quoted(value: string): string {
  return `"${oneLine(value).replace(/"/g, '""')}"`;
}

/** An unquoted CSV field: Qumulo leaves these bare, so a comma or quote would split the line. */
function bare(value: string): string {
  return /[",\r\n]/.test(value) ? quoted(value) : value;
}

/** `203.0.113.10,"AD\alice",api,fs_rename,ok,3,"/my_file","/another_file"` */
export function qumuloCsv(e: ForwardEvent): string {
  const f = qumuloFields(e);
  return [bare(f.userIp), quoted(f.user), bare(f.protocol), bare(f.operation), bare(f.status), bare(f.fileId), quoted(f.path), quoted(f.target)].join(',');
}

/** The syslog JSON shape: `{"user_id":{…},"user_ip",…,"details":{"path","target","file_id"}}`. */
export function qumuloSyslogJson(e: ForwardEvent): string {
  const f = qumuloFields(e);
  return JSON.stringify({
    user_id: { name: oneLine(f.user) },
    user_ip: f.userIp,
    protocol: f.protocol,
    operation: f.operation,
    status: f.status,
    details: { path: oneLine(f.path), target: oneLine(f.target), file_id: f.fileId },
  });
}

/** The CloudWatch JSON shape: an object of strings, with Qumulo's renamed fields. */
export function qumuloCloudWatchJson(e: ForwardEvent): string {
  const f = qumuloFields(e);
  return JSON.stringify({
    ip_address: f.userIp,
    user: oneLine(f.user),
    protocol: f.protocol,
    operation: f.operation,
    result: f.status,
    object_id: f.fileId,
    path_1: oneLine(f.path),
    path_2: oneLine(f.target),
  });
}
