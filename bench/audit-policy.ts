/**
 * Ingest with and without an audit filter, through VeritrailNode.ingest (validation, the
 * project's policy, the appender and the sequencer's durable commits), on the SQLite store.
 *
 *   node --import tsx bench/audit-policy.ts [events=100000] [batch=100] [inFlight=4] [rounds=3]
 *
 * ~1 KiB CloudTrail-shaped events, in batches, several batches in flight as concurrent clients
 * would send them. "filter" uses the example, `{"eventName": {"$in": ["PutRule",
 * "DeleteAlarms"]}}`, and every event matches it, so both runs append the same events and the
 * difference is the cost of deciding. Rounds alternate, each on a fresh data directory; the
 * median of each is reported. Exits 1 when the filter costs more than 10%.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VeritrailNode } from '../src/api/node.ts';
import { compileAuditPolicy, decideAudit } from '../src/policy/audit-policy.ts';

const [EVENTS = 100_000, BATCH = 100, IN_FLIGHT = 4, ROUNDS = 3] = process.argv.slice(2).map(Number);
const FILTER = '{"eventName": {"$in": ["PutRule", "DeleteAlarms"]}}';

function event(i: number): Record<string, unknown> {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012', userName: 'alice' },
    eventTime: new Date(1_800_000_000_000 + i * 1000).toISOString(),
    eventSource: i % 2 ? 'events.amazonaws.com' : 'monitoring.amazonaws.com',
    eventName: i % 2 ? 'PutRule' : 'DeleteAlarms',
    awsRegion: 'eu-west-1',
    sourceIPAddress: `203.0.113.${i % 250}`,
    userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12',
    requestParameters: { name: `rule-${i}`, scheduleExpression: 'rate(5 minutes)', state: 'ENABLED', description: 'x'.repeat(420) },
    responseElements: { ruleArn: `arn:aws:events:eu-west-1:123456789012:rule/rule-${i}` },
    requestID: `req-${i}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
  };
}

interface Run {
  /** Events per second, wall clock. */
  rate: number;
  /** Process CPU time (user + system) per event, in microseconds: the filter's cost without I/O noise. */
  cpuUs: number;
}

async function run(withFilter: boolean): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vt-bench-policy-'));
  const node = await VeritrailNode.open({ dataDir, port: 0, originHost: 'bench.test', log: false });
  try {
    const project = await node.createProject('bench');
    if (withFilter) {
      await node.auditConfigs.update(project.id, { enabled: true, auditAuthorizationSuccess: true, auditFilter: FILTER }, { changedBy: 'bench', via: 'bench' });
    }
    const batches = Array.from({ length: Math.ceil(EVENTS / BATCH) }, (_, b) => Array.from({ length: Math.min(BATCH, EVENTS - b * BATCH) }, (_, i) => event(b * BATCH + i)));
    let next = 0;
    let recorded = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < batches.length) {
          const receipts = await node.ingestValues(project.id, batches[next++]!);
          recorded += receipts.filter((r) => !('recorded' in r)).length;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (recorded !== EVENTS) throw new Error(`expected every event recorded, got ${recorded}`);
    if (withFilter && node.auditConfigs.policies.compilations !== 1) throw new Error('the filter was compiled more than once');
    return { rate: EVENTS / seconds, cpuUs: (used.user + used.system) / EVENTS };
  } finally {
    await node.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const plain: Run[] = [];
const filtered: Run[] = [];
const show = (r: Run) => `${Math.round(r.rate)} events/s, ${r.cpuUs.toFixed(1)} µs CPU/event`;
for (let round = 0; round < ROUNDS; round++) {
  plain.push(await run(false));
  filtered.push(await run(true));
  console.log(`round ${round + 1}: no filter ${show(plain.at(-1)!)}; filter ${show(filtered.at(-1)!)}`);
}
const rate = { plain: median(plain.map((r) => r.rate)), filtered: median(filtered.map((r) => r.rate)) };
const cpu = { plain: median(plain.map((r) => r.cpuUs)), filtered: median(filtered.map((r) => r.cpuUs)) };
const slower = 1 - rate.filtered / rate.plain;
console.log(
  `${EVENTS} events of ~1 KiB, batches of ${BATCH}, ${IN_FLIGHT} in flight (medians of ${ROUNDS}):\n` +
    `  no filter: ${Math.round(rate.plain)} events/s, ${cpu.plain.toFixed(1)} µs CPU/event\n` +
    `  filter:    ${Math.round(rate.filtered)} events/s, ${cpu.filtered.toFixed(1)} µs CPU/event\n` +
    `  throughput ${(slower * 100).toFixed(1)}% lower, CPU ${((cpu.filtered / cpu.plain - 1) * 100).toFixed(1)}% higher with the filter`,
);

// The decision alone, as ingest makes it (the JSON text holds no "$", so no Extended JSON walk).
const policy = compileAuditPolicy({ enabled: true, auditAuthorizationSuccess: true, configurationType: 'FILTER_JSON', auditFilter: FILTER }, 1);
const sample = Array.from({ length: 10_000 }, (_, i) => event(i));
for (const e of sample) decideAudit(policy, e, { plainJson: true }); // warm up
const decideStarted = performance.now();
for (let pass = 0; pass < 10; pass++) for (const e of sample) decideAudit(policy, e, { plainJson: true });
console.log(`  the decision alone: ${(((performance.now() - decideStarted) * 1000) / (sample.length * 10)).toFixed(2)} µs/event`);
process.exitCode = slower > 0.1 ? 1 : 0;
