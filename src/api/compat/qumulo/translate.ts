/**
 * Qumulo configuration and status documents <-> Veritrail destinations. Pure functions, no I/O.
 *
 * A Qumulo cluster is one Veritrail project, and its two audit targets are two destinations of
 * that project with fixed ids (`qumulo-cloudwatch`, `qumulo-syslog`): visible in the native API
 * too, and delivered by the same engine. CloudWatch targets get Qumulo's message shape and
 * never have their log group created (qumulo.md §4.4); syslog targets use TCP with APP-NAME
 * `qumulo`, CSV or Qumulo's JSON.
 */
import type { ErrorDetail } from '../../../core/errors.ts';
import type { CloudWatchDestination, Destination, SyslogDestination } from '../../../forward/destination.ts';
import type { DestinationStatus } from '../../../forward/destination-worker.ts';
import type { CloudwatchConfig, SyslogConfig } from './schemas.ts';

export const QUMULO_CLOUDWATCH_ID = 'qumulo-cloudwatch';
export const QUMULO_SYSLOG_ID = 'qumulo-syslog';

/** A CloudWatch target as Qumulo first shows it (qumulo.md §2.1); `streamName` is used when it is made. */
function newCloudwatch(streamName: string): CloudWatchDestination {
  return { kind: 'cloudwatch', name: 'Qumulo CloudWatch audit', enabled: false, startFrom: 'now', region: '', logGroupName: '', logStreamName: streamName, createLogGroup: false, format: 'qumulo-json' };
}

/** A syslog target as Qumulo first shows it (qumulo.md §2.3). */
const NEW_SYSLOG: SyslogDestination = { kind: 'syslog', name: 'Qumulo remote syslog audit', enabled: false, startFrom: 'now', host: '', port: 514, transport: 'tcp', format: 'csv', appName: 'qumulo', localEnabled: false };

export function cloudwatchConfig(d: Destination | undefined): CloudwatchConfig {
  const shown = d?.kind === 'cloudwatch' ? d : newCloudwatch('');
  return { enabled: shown.enabled, log_group_name: shown.logGroupName, region: shown.region };
}

/** The destination after a PUT or PATCH; `streamName` is used when it is first made. */
export function applyCloudwatch(current: Destination | undefined, change: Partial<CloudwatchConfig>, streamName: string): CloudWatchDestination {
  const base = current?.kind === 'cloudwatch' ? current : newCloudwatch(streamName);
  return {
    ...base,
    ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
    ...(change.region !== undefined ? { region: change.region } : {}),
    ...(change.log_group_name !== undefined ? { logGroupName: change.log_group_name } : {}),
  };
}

export function syslogConfig(d: Destination | undefined): SyslogConfig {
  const shown = d?.kind === 'syslog' ? d : NEW_SYSLOG;
  return { enabled: shown.enabled, server_address: shown.host, server_port: shown.port, local_enabled: shown.localEnabled ?? false, format: shown.format === 'csv' ? 'csv' : 'json' };
}

export function applySyslog(current: Destination | undefined, change: Partial<SyslogConfig>): SyslogDestination {
  const base = current?.kind === 'syslog' ? current : NEW_SYSLOG;
  return {
    ...base,
    ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
    ...(change.server_address !== undefined ? { host: change.server_address } : {}),
    ...(change.server_port !== undefined ? { port: change.server_port } : {}),
    ...(change.local_enabled !== undefined ? { localEnabled: change.local_enabled } : {}),
    ...(change.format !== undefined ? { format: change.format === 'csv' ? 'csv' : 'qumulo-json' } : {}),
  };
}

/** Qumulo's names for the destination fields a validation problem may name. */
const QUMULO_FIELD: Record<string, string> = {
  region: 'region',
  logGroupName: 'log_group_name',
  host: 'server_address',
  port: 'server_port',
};

export function qumuloProblems(problems: readonly ErrorDetail[]): ErrorDetail[] {
  return problems.map((p) => ({ field: QUMULO_FIELD[p.field] ?? p.field, problem: p.problem }));
}

/** A single-process node reports node "1" (qumulo.md §2.2). */
export function cloudwatchStatus(status: DestinationStatus | undefined) {
  const error = status?.state === 'error' && status.lastError ? { error_message: status.lastError.message, error_details: status.lastError.details } : null;
  return { node_statuses: { '1': { last_seen_error: error } } };
}

export function syslogStatus(status: DestinationStatus | undefined) {
  switch (status?.state) {
    case undefined:
    case 'disabled':
      return { connection_status: 'AUDIT_LOG_DISABLED' as const };
    case 'connecting':
      return { connection_status: 'AUDIT_LOG_CONNECTING' as const };
    case 'connected':
      return { connection_status: 'AUDIT_LOG_CONNECTED' as const };
    case 'error':
      return { connection_status: 'AUDIT_LOG_DISCONNECTED' as const, error_message: status.lastError?.message ?? '', error_details: status.lastError?.details ?? '' };
  }
}
