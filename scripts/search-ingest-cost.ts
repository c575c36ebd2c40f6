/**
 * What the search index costs ingest. Posts 100,000 CloudTrail-like events (about 1 KiB each)
 * in batches of 100, 8 requests in flight, through VeritrailNode and its appender (no HTTP), and
 * prints events/s with the search indexer stopped (as before search existed) and running, and
 * how long after the last receipt the index caught up.
 *
 *   node --import tsx scripts/search-ingest-cost.ts [events]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VeritrailNode } from '../src/api/node.ts';

const TOTAL = Number(process.argv[2] ?? 100_000);
const BATCH = 100;
const IN_FLIGHT = 8;

function event(i: number) {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAJ45Q7YFFAREXAMPLE', arn: `arn:aws:iam::123456789012:user/user${i % 50}`, accountId: '123456789012', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', userName: `user${i % 50}` },
    eventTime: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace('.000', ''),
    eventSource: ['s3.amazonaws.com', 'iam.amazonaws.com', 'ec2.amazonaws.com'][i % 3],
    eventName: ['GetObject', 'PutObject', 'CreateUser', 'RunInstances', 'DeleteBucket'][i % 5],
    awsRegion: 'eu-west-1',
    sourceIPAddress: `203.0.113.${i % 250}`,
    userAgent: 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/s3.cp',
    requestParameters: { bucketName: `bucket-${i % 17}`, key: `reports/2026/01/${i}/summary-${i}.csv`, 'x-amz-acl': 'private' },
    responseElements: null,
    requestID: `REQ${i.toString(16).padStart(12, '0')}`,
    eventID: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    managementEvent: i % 2 === 0,
    readOnly: i % 3 === 0,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 's3.eu-west-1.amazonaws.com' },
    ...(i % 10 === 0 ? { errorCode: 'AccessDenied', errorMessage: 'User is not authorized to perform this action on the resource because no identity-based policy allows it' } : {}),
  };
}

async function run(indexing: boolean): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-cost-'));
  const node = await VeritrailNode.open({ dataDir, port: 0, originHost: 'cost.test', log: false });
  try {
    if (!indexing) await node.searchIndexer.stop();
    const project = await node.createProject('cost');
    const batches = Array.from({ length: TOTAL / BATCH }, (_, b) => Array.from({ length: BATCH }, (_, j) => event(b * BATCH + j)));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          const receivedAt = new Date().toISOString();
          await node.appender.append(project.id, node.appender.prepare(project.id, batch, receivedAt));
        }
      }),
    );
    const ingestMs = performance.now() - started;
    let line = `${indexing ? 'indexer running' : 'indexer stopped'}: ${TOTAL} events in ${(ingestMs / 1000).toFixed(2)} s = ${Math.round(TOTAL / (ingestMs / 1000))} events/s`;
    if (indexing) {
      const lagAtEnd = node.searchIndexer.lag().get(project.id) ?? TOTAL;
      await node.searchIndexer.waitFor(project.id, TOTAL, 600_000);
      const doneMs = performance.now() - started;
      line += `; index lag at the last receipt ${lagAtEnd} events; searchable ${((doneMs - ingestMs) / 1000).toFixed(2)} s later (indexing ${Math.round(TOTAL / (doneMs / 1000))} events/s overall)`;
    }
    console.log(line);
  } finally {
    await node.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await run(false);
await run(true);
