/**
 * Deterministic, varied CloudTrail-style records of about 1 KiB (spec/cloudtrail.md §4, seed
 * 004): the same seed gives the same records on every run and machine.
 *
 * Event ids are UUIDv4 text laid out so that a load generator can make them fresh in place,
 * without re-serialising a body: `hhhhhhhh-hhhh-4hhh-Vrrr-cccccccccccc`, where `rrr` is the
 * generator run and `c…` a 48-bit counter (see `ID_RUN_OFFSET`, `ID_COUNTER_OFFSET`).
 */
import { prng } from './stats.ts';
import { DEFAULT_MAX_EVENT_BYTES, isDropped, prepareEvents, type PreparedEvent } from '../../src/log/prepare.ts';

/** Offset of the 3 hex digits of the run number inside an event id. */
export const ID_RUN_OFFSET = 20;
/** Offset of the 12 hex digits of the counter inside an event id. */
export const ID_COUNTER_OFFSET = 24;
export const ID_LENGTH = 36;

type Rng = () => number;
type Params = (r: Rng, account: string, region: string) => Record<string, unknown> | null;

interface Action {
  source: string;
  name: string;
  readOnly: boolean;
  params: Params;
  response?: Params;
}

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'ap-northeast-1'];
const ACCOUNTS = ['123456789012', '210987654321', '111122223333', '444455556666'];
const USERS = ['alice', 'bob', 'carol', 'deploy-bot', 'terraform', 'ci-runner', 'auditor', 'dave.ops'];
const ROLES = ['Deployer', 'ReadOnlyAudit', 'LambdaExecution', 'EKSNodeRole', 'OrganizationAccountAccessRole'];
const AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off command/s3api.put-object',
  'aws-sdk-js/3.540.0 ua/2.0 os/linux#6.1.0 lang/js md/nodejs#20.12.0 api/cloudtrail#3.540.0',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy',
  'Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0',
  'AWS Internal',
  'console.amazonaws.com',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
];
const ERRORS = [
  ['AccessDenied', 'User is not authorized to perform this operation because no identity-based policy allows it'],
  ['ThrottlingException', 'Rate exceeded'],
  ['NoSuchBucket', 'The specified bucket does not exist'],
  ['ValidationException', '1 validation error detected: Value at \'limit\' failed to satisfy constraint'],
] as const;

const pick = <T>(r: Rng, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex = (r: Rng, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};
const uuid = (r: Rng) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${pick(r, ['8', '9', 'a', 'b'])}${hex(r, 3)}-${hex(r, 12)}`;
const name = (r: Rng, prefix: string) => `${prefix}-${pick(r, ['prod', 'staging', 'dev', 'shared'])}-${hex(r, 6)}`;

const ACTIONS: Action[] = [
  { source: 's3', name: 'GetObject', readOnly: true, params: (r) => ({ bucketName: name(r, 'logs'), key: `year=2026/month=${int(r, 1, 12)}/part-${hex(r, 8)}.parquet`, Host: 's3.amazonaws.com' }) },
  { source: 's3', name: 'PutObject', readOnly: false, params: (r) => ({ bucketName: name(r, 'uploads'), key: `invoices/${hex(r, 12)}.pdf`, 'x-amz-server-side-encryption': 'aws:kms' }), response: (r) => ({ 'x-amz-version-id': hex(r, 32) }) },
  { source: 's3', name: 'DeleteBucket', readOnly: false, params: (r) => ({ bucketName: name(r, 'tmp') }) },
  { source: 's3', name: 'PutBucketPolicy', readOnly: false, params: (r, a) => ({ bucketName: name(r, 'site'), bucketPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${a}:root` }, Action: 's3:GetObject', Resource: '*' }] } }) },
  { source: 'ec2', name: 'RunInstances', readOnly: false, params: (r) => ({ instanceType: pick(r, ['t3.micro', 'm6i.large', 'c7g.xlarge']), imageId: `ami-${hex(r, 17)}`, minCount: 1, maxCount: int(r, 1, 4), subnetId: `subnet-${hex(r, 17)}` }), response: (r) => ({ reservationId: `r-${hex(r, 17)}`, instancesSet: { items: [{ instanceId: `i-${hex(r, 17)}`, currentState: { code: 0, name: 'pending' } }] } }) },
  { source: 'ec2', name: 'DescribeInstances', readOnly: true, params: (r) => ({ maxResults: int(r, 5, 1000), filterSet: { items: [{ name: 'instance-state-name', valueSet: { items: [{ value: 'running' }] } }] } }) },
  { source: 'ec2', name: 'AuthorizeSecurityGroupIngress', readOnly: false, params: (r) => ({ groupId: `sg-${hex(r, 17)}`, ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 443, toPort: 443, ipRanges: { items: [{ cidrIp: `${int(r, 1, 223)}.${int(r, 0, 255)}.0.0/16` }] } }] } }) },
  { source: 'ec2', name: 'TerminateInstances', readOnly: false, params: (r) => ({ instancesSet: { items: [{ instanceId: `i-${hex(r, 17)}` }] } }) },
  { source: 'iam', name: 'CreateUser', readOnly: false, params: (r) => ({ userName: `${pick(r, USERS)}-${hex(r, 4)}`, tags: [{ key: 'team', value: pick(r, ['payments', 'platform', 'data']) }] }), response: (r, a) => ({ user: { userName: `u-${hex(r, 6)}`, arn: `arn:aws:iam::${a}:user/u-${hex(r, 6)}`, userId: `AIDA${hex(r, 16).toUpperCase()}`, createDate: 'Mar 1, 2026 10:00:00 AM' } }) },
  { source: 'iam', name: 'AttachRolePolicy', readOnly: false, params: (r) => ({ roleName: pick(r, ROLES), policyArn: `arn:aws:iam::aws:policy/${pick(r, ['ReadOnlyAccess', 'AmazonS3FullAccess', 'AdministratorAccess'])}` }) },
  { source: 'iam', name: 'ListRoles', readOnly: true, params: (r) => ({ maxItems: int(r, 10, 100) }) },
  { source: 'sts', name: 'AssumeRole', readOnly: true, params: (r, a) => ({ roleArn: `arn:aws:iam::${a}:role/${pick(r, ROLES)}`, roleSessionName: `session-${hex(r, 8)}`, durationSeconds: 3600 }), response: (r) => ({ credentials: { accessKeyId: `ASIA${hex(r, 16).toUpperCase()}`, expiration: 'Mar 1, 2026 11:00:00 AM', sessionToken: hex(r, 64) } }) },
  { source: 'sts', name: 'GetCallerIdentity', readOnly: true, params: () => null },
  { source: 'kms', name: 'Decrypt', readOnly: true, params: (r, a, region) => ({ encryptionAlgorithm: 'SYMMETRIC_DEFAULT', keyId: `arn:aws:kms:${region}:${a}:key/${uuid(r)}`, encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${name(r, 'data')}/${hex(r, 10)}` } }) },
  { source: 'kms', name: 'GenerateDataKey', readOnly: true, params: (r, a, region) => ({ keyId: `arn:aws:kms:${region}:${a}:alias/${name(r, 'key')}`, keySpec: 'AES_256' }) },
  { source: 'lambda', name: 'Invoke', readOnly: false, params: (r, a, region) => ({ functionName: `arn:aws:lambda:${region}:${a}:function:${name(r, 'fn')}`, invocationType: pick(r, ['RequestResponse', 'Event']) }) },
  { source: 'lambda', name: 'UpdateFunctionCode20150331v2', readOnly: false, params: (r) => ({ functionName: name(r, 'fn'), s3Bucket: name(r, 'artifacts'), s3Key: `builds/${hex(r, 40)}.zip`, publish: true }) },
  { source: 'monitoring', name: 'PutMetricAlarm', readOnly: false, params: (r) => ({ alarmName: `${name(r, 'alarm')} high latency`, metricName: 'Latency', namespace: 'AWS/ApplicationELB', statistic: 'Average', period: 60, evaluationPeriods: int(r, 1, 5), threshold: int(r, 1, 500) / 10, comparisonOperator: 'GreaterThanThreshold' }) },
  { source: 'logs', name: 'CreateLogStream', readOnly: false, params: (r) => ({ logGroupName: `/aws/lambda/${name(r, 'fn')}`, logStreamName: `2026/03/01/[$LATEST]${hex(r, 32)}` }) },
  { source: 'dynamodb', name: 'UpdateTable', readOnly: false, params: (r) => ({ tableName: name(r, 'orders'), billingMode: 'PAY_PER_REQUEST', streamSpecification: { streamEnabled: true, streamViewType: 'NEW_AND_OLD_IMAGES' } }) },
  { source: 'rds', name: 'CreateDBSnapshot', readOnly: false, params: (r) => ({ dBSnapshotIdentifier: `snap-${hex(r, 10)}`, dBInstanceIdentifier: name(r, 'db') }) },
  { source: 'secretsmanager', name: 'GetSecretValue', readOnly: true, params: (r, a, region) => ({ secretId: `arn:aws:secretsmanager:${region}:${a}:secret:${name(r, 'app')}/db-${hex(r, 6)}` }) },
  { source: 'ssm', name: 'StartSession', readOnly: false, params: (r) => ({ target: `i-${hex(r, 17)}`, documentName: 'AWS-StartInteractiveCommand', parameters: { command: [pick(r, ['sudo journalctl -u app', 'df -h', 'systemctl restart nginx'])] } }) },
  { source: 'signin', name: 'ConsoleLogin', readOnly: false, params: () => null, response: (r) => ({ ConsoleLogin: r() < 0.9 ? 'Success' : 'Failure' }) },
  { source: 'cloudtrail', name: 'StopLogging', readOnly: false, params: (r, a, region) => ({ name: `arn:aws:cloudtrail:${region}:${a}:trail/${name(r, 'trail')}` }) },
  { source: 'ecr', name: 'BatchGetImage', readOnly: true, params: (r) => ({ repositoryName: name(r, 'svc'), imageIds: [{ imageTag: `v${int(r, 1, 9)}.${int(r, 0, 40)}.${int(r, 0, 20)}` }], acceptedMediaTypes: ['application/vnd.docker.distribution.manifest.v2+json'] }) },
];

function identity(r: Rng, account: string): Record<string, unknown> {
  const roll = r();
  if (roll < 0.45) {
    const role = pick(r, ROLES);
    const id = `AROA${hex(r, 16).toUpperCase()}`;
    return {
      type: 'AssumedRole',
      principalId: `${id}:${pick(r, USERS)}`,
      arn: `arn:aws:sts::${account}:assumed-role/${role}/${pick(r, USERS)}`,
      accountId: account,
      accessKeyId: `ASIA${hex(r, 16).toUpperCase()}`,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: id, arn: `arn:aws:iam::${account}:role/${role}`, accountId: account, userName: role },
        attributes: { creationDate: `2026-03-0${int(r, 1, 9)}T0${int(r, 0, 9)}:${int(r, 10, 59)}:00Z`, mfaAuthenticated: r() < 0.3 ? 'true' : 'false' },
      },
    };
  }
  if (roll < 0.8) {
    const user = pick(r, USERS);
    return { type: 'IAMUser', principalId: `AIDA${hex(r, 16).toUpperCase()}`, arn: `arn:aws:iam::${account}:user/${user}`, accountId: account, accessKeyId: `AKIA${hex(r, 16).toUpperCase()}`, userName: user };
  }
  if (roll < 0.9) return { type: 'AWSService', invokedBy: pick(r, ['config.amazonaws.com', 'cloudformation.amazonaws.com', 'autoscaling.amazonaws.com']) };
  if (roll < 0.96) return { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account, accessKeyId: '' };
  return { type: 'FederatedUser', principalId: `${account}:${pick(r, USERS)}`, arn: `arn:aws:sts::${account}:federated-user/${pick(r, USERS)}`, accountId: account };
}

function sourceIp(r: Rng): string {
  const roll = r();
  if (roll < 0.1) return 'AWS Internal';
  if (roll < 0.2) return pick(r, ['config.amazonaws.com', 'cloudformation.amazonaws.com']);
  return `${pick(r, ['203.0.113', '198.51.100', '192.0.2', `${int(r, 11, 99)}.${int(r, 0, 255)}.${int(r, 0, 255)}`])}.${int(r, 1, 254)}`;
}

/** Start of the records' eventTime; each record is 1–800 ms after the one before. */
export const EPOCH_MS = Date.UTC(2026, 2, 1, 0, 0, 0);
/** The mean gap between two records' eventTime: a log of n records spans about n times this. */
export const MEAN_GAP_MS = 400.5;
/** Every eventName the source makes. */
export const EVENT_NAMES: readonly string[] = ACTIONS.map((action) => action.name);

/**
 * A source of records. `next()` returns the next record; its eventID has run 000 and
 * counter 0 until a load generator rewrites them in place.
 */
export class EventSource {
  private readonly r: Rng;
  private timeMs = EPOCH_MS;

  constructor(seed = 0x5eed) {
    this.r = prng(seed);
  }

  next(): Record<string, unknown> {
    const r = this.r;
    this.timeMs += int(r, 1, 800);
    const account = pick(r, ACCOUNTS);
    const region = pick(r, REGIONS);
    const action = pick(r, ACTIONS);
    const failed = r() < 0.06 ? pick(r, ERRORS) : undefined;
    const event: Record<string, unknown> = {
      eventVersion: '1.11',
      userIdentity: identity(r, account),
      eventTime: new Date(this.timeMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: `${action.source}.amazonaws.com`,
      eventName: action.name,
      awsRegion: region,
      sourceIPAddress: sourceIp(r),
      userAgent: pick(r, AGENTS),
      ...(failed ? { errorCode: failed[0], errorMessage: failed[1] } : {}),
      requestParameters: action.params(r, account, region),
      responseElements: failed ? null : (action.response?.(r, account, region) ?? null),
      requestID: uuid(r),
      eventID: `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-${pick(r, ['8', '9', 'a', 'b'])}000-000000000000`,
      readOnly: action.readOnly,
      eventType: action.source === 'signin' ? 'AwsConsoleSignIn' : 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    };
    if (r() < 0.5) {
      event.tlsDetails = { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `${action.source}.${region}.amazonaws.com` };
    }
    return event;
  }
}

/** Where the id counter of each event sits in a serialised body (ASCII, so chars are bytes). */
export function idCounterOffsets(body: string): number[] {
  const key = '"eventID":"';
  const offsets: number[] = [];
  for (let at = body.indexOf(key); at >= 0; at = body.indexOf(key, at + 1)) offsets.push(at + key.length + ID_COUNTER_OFFSET);
  return offsets;
}

const HEX = Buffer.from('0123456789abcdef');

/** Writes `value` as `digits` lowercase hex digits at `offset`. */
export function writeHex(buffer: Buffer, offset: number, value: number, digits: number): void {
  for (let i = digits - 1; i >= 0; i--) {
    buffer[offset + i] = HEX[value % 16]!;
    value = Math.floor(value / 16);
  }
}

/** A record with the given run and counter written into its eventID (datasets, baselines). */
export function withId(event: Record<string, unknown>, run: number, counter: number): Record<string, unknown> {
  const id = Buffer.from(event.eventID as string);
  writeHex(id, ID_RUN_OFFSET, run, 3);
  writeHex(id, ID_COUNTER_OFFSET, counter, 12);
  return { ...event, eventID: id.toString() };
}

/** Events prepared exactly as ingest prepares them (no per-request limits); throws on a refusal. */
export function preparedEvents(projectId: string, events: readonly unknown[], receivedAt: string): PreparedEvent[] {
  const outcome = prepareEvents(projectId, events, receivedAt, { maxEvents: Number.MAX_SAFE_INTEGER, maxEventBytes: DEFAULT_MAX_EVENT_BYTES });
  if (!outcome.ok) throw new Error(`couldn't prepare bench events: ${outcome.reason}`);
  return outcome.items.filter((item): item is PreparedEvent => !isDropped(item));
}
