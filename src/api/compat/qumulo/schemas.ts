/** Qumulo wire shapes (spec/qumulo.md §1–§3), as TypeBox schemas; unknown fields are 400. */
import { Type, type Static } from 'typebox';

export const LoginBody = Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: false });
export const LoginResponse = Type.Object({ bearer_token: Type.String() });

const cloudwatchFields = {
  enabled: Type.Boolean({ description: 'enabled' }),
  log_group_name: Type.String({ description: 'log_group_name' }),
  region: Type.String({ description: 'region' }),
};
export const CloudwatchConfig = Type.Object(cloudwatchFields, { additionalProperties: false, description: 'cloudwatch_audit_user_config' });
export const CloudwatchConfigDelta = Type.Partial(Type.Object(cloudwatchFields, { additionalProperties: false }), {
  additionalProperties: false,
  description: 'cloudwatch_audit_user_config_delta',
});
export type CloudwatchConfig = Static<typeof CloudwatchConfig>;

const syslogFields = {
  enabled: Type.Boolean(),
  server_address: Type.String({ description: 'IP address, host name or FQDN of the remote syslog server' }),
  server_port: Type.Integer({ description: 'TCP port of the remote syslog server (1-65535)' }),
  local_enabled: Type.Boolean(),
  format: Type.Union([Type.Literal('csv'), Type.Literal('json')]),
};
export const SyslogConfig = Type.Object(syslogFields, { additionalProperties: false, description: 'syslog_audit_config' });
export const SyslogConfigPut = Type.Object(
  { ...syslogFields, local_enabled: Type.Optional(syslogFields.local_enabled), format: Type.Optional(syslogFields.format) },
  // Older clients know only enabled, server_address and server_port (qumulo.md §2.3).
  { additionalProperties: false },
);
export const SyslogConfigDelta = Type.Partial(Type.Object(syslogFields), { additionalProperties: false, description: 'syslog_audit_config_delta' });
export type SyslogConfig = Static<typeof SyslogConfig>;

const QumuloError = Type.Object({ error_message: Type.String(), error_details: Type.String() });
export const CloudwatchStatus = Type.Object({
  node_statuses: Type.Record(Type.String(), Type.Object({ last_seen_error: Type.Union([QumuloError, Type.Null()]) })),
});
export const SyslogStatus = Type.Object({
  connection_status: Type.Union(['AUDIT_LOG_CONNECTED', 'AUDIT_LOG_CONNECTING', 'AUDIT_LOG_DISABLED', 'AUDIT_LOG_DISCONNECTED'].map((s) => Type.Literal(s))),
  error_message: Type.Optional(Type.String()),
  error_details: Type.Optional(Type.String()),
});
export const QumuloErrorBody = Type.Object({ error_class: Type.String(), description: Type.String() });
