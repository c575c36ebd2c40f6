/**
 * RFC 5424 messages and their framing. Header as spec/qumulo.md §4.3:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - - MSG` with PRI local0.info = <134>.
 */

/** Facility local0 (16) × 8 + severity informational (6). */
export const SYSLOG_PRI = 134;

/** One RFC 5424 message. The timestamp is the event's receivedAt (RFC 3339, UTC). */
export function rfc5424(receivedAt: string, hostname: string, appName: string, body: string): string {
  // RFC 5424 §6.2: NILVALUE for MSGID, PROCID and STRUCTURED-DATA; MSG is UTF-8 without a BOM.
  return `<${SYSLOG_PRI}>1 ${receivedAt} ${hostname || '-'} ${appName} - - - ${body}`;
}

/** RFC 6587 §3.4.1 octet counting (RFC 5425 §4.3 for TLS): `MSG-LEN SP SYSLOG-MSG`. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}

/** A host name usable as RFC 5424 HOSTNAME: printable ASCII, at most 255 characters. */
export function syslogHostname(name: string): string {
  const cleaned = name.replace(/[^!-~]/g, '');
  return cleaned.slice(0, 255) || '-';
}
