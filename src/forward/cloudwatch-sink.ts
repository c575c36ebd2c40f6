/**
 * CloudWatch Logs through the official client (`@aws-sdk/client-cloudwatch-logs`). The log
 * stream is created on first use (ResourceAlreadyExistsException is success); the log group
 * only when the destination says so, since Qumulo-style targets must already have it
 * (spec/qumulo.md §4.4). The client makes one attempt per call: retries, with backoff and
 * jitter, are the destination worker's, the same for every sink.
 */
import type { CloudWatchLogsClient, CloudWatchLogsClientConfig, PutLogEventsCommandOutput } from '@aws-sdk/client-cloudwatch-logs';
import type { Clock } from '../core/clock.ts';
import { cutBatch } from './cloudwatch-batch.ts';
import type { CloudWatchDestination } from './destination.ts';
import { jsonLine, type ForwardEvent } from './forward-event.ts';
import { qumuloCloudWatchJson } from './qumulo-format.ts';
import { DeliveryError, errorDetail, type Sink } from './sink.ts';

/** Node-wide CloudWatch defaults: an endpoint override and credentials for destinations without their own. */
export interface CloudWatchDefaults {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Per-call timeouts: a peer that hangs must fail the attempt, not the worker. */
const CONNECTION_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The SDK, loaded on first use: it adds about 22 MiB to a process, and most servers never forward
 * to CloudWatch. One promise for the whole process.
 */
let sdk: Promise<typeof import('@aws-sdk/client-cloudwatch-logs')> | undefined;
function cloudWatchSdk(): Promise<typeof import('@aws-sdk/client-cloudwatch-logs')> {
  return (sdk ??= import('@aws-sdk/client-cloudwatch-logs'));
}

const ACCESS_ERRORS = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'IncompleteSignatureException', 'MissingAuthenticationTokenException', 'ExpiredTokenException']);

export class CloudWatchSink implements Sink {
  private readonly clientConfig: CloudWatchLogsClientConfig;
  private clientInstance: CloudWatchLogsClient | undefined;
  private readonly stream: string;
  private streamReady = false;
  /** Counters shown in the destination's status. */
  readonly notes = { rejectedTooOld: 0, rejectedTooNew: 0, rejectedExpired: 0, clamped: 0, stubbed: 0 };

  constructor(
    private readonly config: CloudWatchDestination,
    projectId: string,
    /** The destination's secret access key, opened. */
    secretAccessKey: string | undefined,
    private readonly clock: Clock,
    defaults: CloudWatchDefaults = {},
  ) {
    this.stream = config.logStreamName ?? `veritrail-${projectId}`;
    const credentials = config.accessKeyId && secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey } : defaults.credentials;
    const endpoint = config.endpoint ?? defaults.endpoint;
    this.clientConfig = {
      region: config.region,
      maxAttempts: 1,
      requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
  }

  private async client(): Promise<{ client: CloudWatchLogsClient; sdk: typeof import('@aws-sdk/client-cloudwatch-logs') }> {
    const loaded = await cloudWatchSdk();
    this.clientInstance ??= new loaded.CloudWatchLogsClient(this.clientConfig);
    return { client: this.clientInstance, sdk: loaded };
  }

  async deliver(events: readonly ForwardEvent[], signal: AbortSignal): Promise<number> {
    try {
      if (!this.streamReady) await this.createStream(signal);
      const format = this.config.format === 'qumulo-json' ? qumuloCloudWatchJson : jsonLine;
      const batch = cutBatch(events, format, this.clock.now());
      const { client, sdk } = await this.client();
      const output = await client.send(
        new sdk.PutLogEventsCommand({ logGroupName: this.config.logGroupName, logStreamName: this.stream, logEvents: batch.logEvents }),
        { abortSignal: signal },
      );
      this.notes.clamped += batch.clamped;
      this.notes.stubbed += batch.stubbed;
      this.countRejected(output, batch.count);
      return batch.count;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') this.streamReady = false;
      throw this.describe(error);
    }
  }

  /**
   * Events CloudWatch refused one by one (too old, too new, past retention) are counted and
   * passed over: the others of the call were stored, and a refused event cannot be sent again
   * with a different outcome.
   */
  private countRejected(output: PutLogEventsCommandOutput, count: number): void {
    const info = output.rejectedLogEventsInfo;
    if (!info) return;
    if (info.tooOldLogEventEndIndex !== undefined) this.notes.rejectedTooOld += info.tooOldLogEventEndIndex + 1;
    if (info.expiredLogEventEndIndex !== undefined) this.notes.rejectedExpired += info.expiredLogEventEndIndex + 1;
    if (info.tooNewLogEventStartIndex !== undefined) this.notes.rejectedTooNew += count - info.tooNewLogEventStartIndex;
  }

  private async createStream(signal: AbortSignal): Promise<void> {
    const { logGroupName } = this.config;
    const { client, sdk } = await this.client();
    const create = () => client.send(new sdk.CreateLogStreamCommand({ logGroupName, logStreamName: this.stream }), { abortSignal: signal });
    try {
      await ignoreExists(create());
    } catch (error) {
      if ((error as Error).name !== 'ResourceNotFoundException' || !this.config.createLogGroup) throw error;
      await ignoreExists(client.send(new sdk.CreateLogGroupCommand({ logGroupName }), { abortSignal: signal }));
      await ignoreExists(create());
    }
    this.streamReady = true;
  }

  private describe(error: unknown): DeliveryError {
    const name = (error as Error).name;
    const message = ACCESS_ERRORS.has(name)
      ? 'Access denied sending logs to CloudWatch'
      : name === 'ResourceNotFoundException'
        ? `Log group ${this.config.logGroupName} or its stream does not exist in CloudWatch`
        : name === 'ThrottlingException'
          ? 'CloudWatch Logs is throttling requests'
          : "Couldn't send logs to CloudWatch";
    return new DeliveryError(message, errorDetail(error), { cause: error });
  }

  async close(): Promise<void> {
    this.clientInstance?.destroy();
  }
}

async function ignoreExists(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as Error).name !== 'ResourceAlreadyExistsException') throw error;
  }
}
