/**
 * A local protocol double of Amazon CloudWatch Logs: an HTTP server on 127.0.0.1 that speaks
 * the awsJson1_1 wire protocol (spec/cloudtrail.md §1), verifies SigV4 signatures (§2), and
 * implements CreateLogGroup, CreateLogStream and PutLogEvents with every PutLogEvents limit of
 * §7, answering errors the way AWS does (`__type`, status). The real
 * `@aws-sdk/client-cloudwatch-logs` is pointed at it through `endpoint`. Not AWS: quotas,
 * message wording and retention are AWS's own; only the documented contract is reproduced.
 *
 * Fault injection: `faults` is consumed one entry per PutLogEvents request (`500`, `throttle`, `reset`: the
 * connection is cut before any answer, `reset-after-store`: the events are stored and then the
 * connection is cut, so the client never learns, `access-denied`); `outage(nowMs)` answers 503
 * ServiceUnavailableException while it returns true. Time for the limits comes from `now()`,
 * which tests may drive with a simulated clock; signature freshness uses the real clock, as
 * the SDK signs with it.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export type Fault = '500' | 'throttle' | 'reset' | 'reset-after-store' | 'access-denied';

export interface StoredLogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface CloudWatchLogsDouble {
  endpoint: string;
  /** access key id -> secret access key */
  credentials: Map<string, string>;
  groups: Map<string, Map<string, StoredLogEvent[]>>;
  faults: Fault[];
  outage: (nowMs: number) => boolean;
  /** Events older than this (ms) are "expired" (the group's retention); default none. */
  retentionMs: number | undefined;
  /** PutLogEvents answers this long after storing (a slow service: a kill lands mid-call). */
  delayMs: number;
  /** PutLogEvents calls stored and not yet answered. */
  inFlight: number;
  /** Every request: operation, its JSON body, the status answered and the error type, if any. */
  calls: Array<{ op: string; body: Record<string, any>; status: number; error?: string }>;
  events(group: string, stream: string): StoredLogEvent[];
  close(): Promise<void>;
}

const MAX_EVENTS = 10_000;
const MAX_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
const DAY = 24 * 3600_000;
const SIGNATURE_SKEW_MS = 15 * 60_000;
const NAME_PATTERN = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding of one path segment, keeping unreserved characters. */
const encodeSegment = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** spec/cloudtrail.md §2: rebuild the canonical request and check the signature. */
function verifySigV4(request: http.IncomingMessage, body: Buffer, credentials: Map<string, string>): void {
  const header = request.headers.authorization;
  if (!header) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const match = AUTH.exec(header);
  if (!match) throw new AwsError('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature');
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  const secret = credentials.get(accessKeyId!);
  if (secret === undefined) throw new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!amzDate.startsWith(date!) || Number.isNaN(signedAt)) throw new AwsError('IncompleteSignatureException', 'X-Amz-Date does not match the credential scope');
  if (Math.abs(Date.now() - signedAt) > SIGNATURE_SKEW_MS) throw new AwsError('InvalidSignatureException', 'Signature expired: the request time is too far from the server time');
  const url = new URL(request.url ?? '/', 'http://double');
  // Non-S3 services encode each path segment twice.
  const canonicalUri = url.pathname.split('/').map((segment) => encodeSegment(encodeSegment(decodeURIComponent(segment)))).join('/') || '/';
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([k, v]) => [encodeSegment(k), encodeSegment(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names.map((name) => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = typeof request.headers['x-amz-content-sha256'] === 'string' ? request.headers['x-amz-content-sha256'] : sha256(body);
  if (payloadHash !== sha256(body)) throw new AwsError('InvalidSignatureException', 'The payload hash does not match the body');
  const canonical = [request.method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  if (!names.includes('host') || !timingSafeEqual(expected, Buffer.from(signature!))) {
    throw new AwsError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.');
  }
  if (service !== 'logs') throw new AwsError('InvalidSignatureException', `Credential should be scoped to correct service: 'logs'`);
}

export async function startCloudWatchLogsDouble(options: { now?: () => number; credentials?: Record<string, string> } = {}): Promise<CloudWatchLogsDouble> {
  const now = options.now ?? Date.now;
  const double: CloudWatchLogsDouble = {
    endpoint: '',
    credentials: new Map(Object.entries(options.credentials ?? { AKIDLOCALTEST: 'local-secret-key' })),
    groups: new Map(),
    faults: [],
    outage: () => false,
    retentionMs: undefined,
    delayMs: 0,
    inFlight: 0,
    calls: [],
    events: (group, stream) => double.groups.get(group)?.get(stream) ?? [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const operations: Record<string, (body: Record<string, any>, afterStore: () => void) => Record<string, unknown>> = {
    CreateLogGroup(body) {
      const name = requireName(body, 'logGroupName', NAME_PATTERN);
      if (double.groups.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists');
      double.groups.set(name, new Map());
      return {};
    },
    CreateLogStream(body) {
      const group = groupOf(body);
      const name = requireName(body, 'logStreamName', /^[^:*]{1,512}$/);
      if (group.has(name)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      group.set(name, []);
      return {};
    },
    PutLogEvents(body, afterStore) {
      const group = groupOf(body);
      const stream = group.get(requireName(body, 'logStreamName', /^[^:*]{1,512}$/));
      if (!stream) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.');
      const events = body.logEvents as Array<{ timestamp: number; message: string }>;
      if (!Array.isArray(events) || events.length < 1 || events.length > MAX_EVENTS) {
        throw new AwsError('InvalidParameterException', `1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and ${MAX_EVENTS}`);
      }
      let bytes = 0;
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        if (typeof e.message !== 'string' || e.message.length < 1 || !Number.isInteger(e.timestamp)) throw new AwsError('InvalidParameterException', `Log event ${i} is malformed`);
        bytes += Buffer.byteLength(e.message, 'utf8') + EVENT_OVERHEAD;
        if (i > 0 && e.timestamp < events[i - 1]!.timestamp) throw new AwsError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
      }
      if (bytes > MAX_BYTES) throw new AwsError('InvalidParameterException', `Upload too large: ${bytes} bytes exceeds the maximum allowed size of ${MAX_BYTES} bytes.`);
      const at = now();
      let tooNewStart: number | undefined;
      let tooOldEnd: number | undefined;
      let expiredEnd: number | undefined;
      const accepted: StoredLogEvent[] = [];
      events.forEach((e, i) => {
        if (e.timestamp > at + 2 * 3600_000) tooNewStart ??= i;
        else if (e.timestamp < at - 14 * DAY) tooOldEnd = i;
        else if (double.retentionMs !== undefined && e.timestamp < at - double.retentionMs) expiredEnd = i;
        else accepted.push({ timestamp: e.timestamp, message: e.message, ingestionTime: at });
      });
      if (accepted.length > 0 && accepted[accepted.length - 1]!.timestamp - accepted[0]!.timestamp > DAY) {
        throw new AwsError('InvalidParameterException', 'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
      }
      stream.push(...accepted);
      afterStore();
      const rejected = { tooNewLogEventStartIndex: tooNewStart, tooOldLogEventEndIndex: tooOldEnd, expiredLogEventEndIndex: expiredEnd };
      return tooNewStart !== undefined || tooOldEnd !== undefined || expiredEnd !== undefined ? { nextSequenceToken: randomUUID(), rejectedLogEventsInfo: rejected } : { nextSequenceToken: randomUUID() };
    },
  };

  function groupOf(body: Record<string, any>): Map<string, StoredLogEvent[]> {
    const group = double.groups.get(requireName(body, 'logGroupName', NAME_PATTERN));
    if (!group) throw new AwsError('ResourceNotFoundException', 'The specified log group does not exist.');
    return group;
  }

  const server = http.createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const target = String(request.headers['x-amz-target'] ?? '');
    // Both X-Amz-Target spellings (§1.1): the operation is the text after the last dot.
    const op = target.slice(target.lastIndexOf('.') + 1);
    let body: Record<string, any> = {};
    const answer = (status: number, payload: { __type?: string; message?: string } | Record<string, unknown>) => {
      double.calls.push({ op, body, status, ...(typeof payload.__type === 'string' ? { error: payload.__type } : {}) });
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), date: new Date().toUTCString() });
      response.end(JSON.stringify(payload));
    };
    try {
      if (request.method !== 'POST' || !/^Logs_20140328\.|\.Logs_20140328\./.test(`.${target}`)) throw new AwsError('UnknownOperationException', `Unknown target ${target}`);
      verifySigV4(request, raw, double.credentials);
      body = JSON.parse(raw.toString('utf8') || '{}');
      const handler = operations[op];
      if (!handler) throw new AwsError('UnknownOperationException', `Operation ${op} is not supported by this double`);
      // Faults are for PutLogEvents, the call that carries events.
      const fault = op === 'PutLogEvents' ? double.faults.shift() : undefined;
      if (fault === 'reset') {
        double.calls.push({ op, body, status: 0 });
        request.socket.destroy();
        return;
      }
      if (fault === '500') throw new AwsError('InternalFailure', 'We encountered an internal error. Please try again.', 500);
      if (fault === 'throttle') throw new AwsError('ThrottlingException', 'Rate exceeded');
      if (fault === 'access-denied') throw new AwsError('AccessDeniedException', 'User is not authorized to perform: logs:PutLogEvents', 400);
      if (double.outage(now())) throw new AwsError('ServiceUnavailableException', 'The service cannot complete the request.', 503);
      let cut = false;
      const result = handler(body, () => (cut = fault === 'reset-after-store'));
      if (op === 'PutLogEvents' && double.delayMs > 0) {
        double.inFlight++;
        await new Promise((resolve) => setTimeout(resolve, double.delayMs));
        double.inFlight--;
      }
      if (cut) {
        double.calls.push({ op, body, status: 0 });
        request.socket.destroy();
        return;
      }
      answer(200, result);
    } catch (error) {
      if (error instanceof AwsError) answer(error.status, { __type: error.type, message: error.message });
      else answer(400, { __type: 'SerializationException', message: (error as Error).message });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  double.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return double;
}

function requireName(body: Record<string, any>, member: string, pattern: RegExp): string {
  const value = body[member];
  if (typeof value !== 'string' || !pattern.test(value)) throw new AwsError('InvalidParameterException', `1 validation error detected: Value at '${member}' failed to satisfy constraint`);
  return value;
}
