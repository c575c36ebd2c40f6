/**
 * The `veritrail` command. It parses flags and calls the layers; the work is done elsewhere.
 * Each command imports what it uses when it runs (the bundle splits there, core/bundle.js), so
 * `veritrail verify` starts without loading the server, the stores or the query engine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_METRICS_ACCESS, DEFAULT_PORT, DEFAULT_RATE_LIMIT_PER_MINUTE } from '../api/node-config.ts';
import { isRole } from '../core/roles.ts';
import { KEY_TYPES, type KeyType } from '../core/key-types.ts';
import type { KeyCredentials } from '../auth/api-keys.ts';
import { CHECKPOINT_KEY_FILE, loadSigner } from '../log/log-key.ts';
import { generateSigner, parseVerifierKey, type NoteVerifier } from '../log/signed-note.ts';
import { DEFAULT_FORWARD_LEASE_MS } from '../forward/destination-worker.ts';
import { SEARCH_YIELD_CHOICES } from '../query/search-pacing.ts';

const program = new Command('veritrail').description('A tamper-evident audit log service').showHelpAfterError();

const dataOption = () => new Option('--data <dir>', 'data directory').env('VERITRAIL_DATA').default(DEFAULT_DATA_DIR);
const storeOption = () => new Option('--store <url>', 'PostgreSQL URL (postgres://...) instead of SQLite in --data').env('VERITRAIL_DATABASE_URL');
const checkpointKeyOption = () => new Option('--checkpoint-key <text>', 'checkpoint signer key (PRIVATE+KEY+...) instead of the data directory file').env('VERITRAIL_CHECKPOINT_KEY');

// An empty VERITRAIL_DATABASE_URL counts as unset (SQLite), as an empty variable usually means.
// Here, for every command: an option parser cannot unset a value (commander stores '' instead).
program.hook('preAction', (_program, command) => {
  if (command.getOptionValue('store') === '') command.setOptionValue('store', undefined);
});

program
  .command('serve')
  .description('run the server')
  .addOption(new Option('--port <port>', 'TCP port').env('VERITRAIL_PORT').default(String(DEFAULT_PORT)))
  .addOption(new Option('--host <host>', 'listen address').env('VERITRAIL_HOST').default(DEFAULT_HOST))
  .addOption(dataOption())
  .addOption(storeOption())
  .addOption(new Option('--origin-host <name>', 'public host name that begins every log origin (default host:port)').env('VERITRAIL_ORIGIN_HOST'))
  .addOption(checkpointKeyOption())
  .addOption(new Option('--server-secret <base64>', 'server secret (32+ bytes, base64) instead of the data directory file').env('VERITRAIL_SERVER_SECRET'))
  .addOption(new Option('--log-level <level>', 'pino log level').env('VERITRAIL_LOG_LEVEL').default('info'))
  .addOption(new Option('--region <region>', 'awsRegion written into self-audit records').env('VERITRAIL_REGION'))
  .addOption(new Option('--audit-reads', 'also record reads of the management API in self-audit').env('VERITRAIL_AUDIT_READS'))
  .addOption(new Option('--metrics-access <who>', 'who may read GET /metrics: public, or org (an ORG_OWNER key)').choices(['public', 'org']).env('VERITRAIL_METRICS_ACCESS').default(DEFAULT_METRICS_ACCESS))
  .addOption(new Option('--rate-limit <per-minute>', 'requests per minute per key (0: no limit)').env('VERITRAIL_RATE_LIMIT').default(String(DEFAULT_RATE_LIMIT_PER_MINUTE)))
  .addOption(new Option('--search-yield <when>', 'whether search indexing yields to ingest on a saturated machine: auto (on with PostgreSQL), on, off, or backlog (whenever ingest on this node has a backlog, whatever the CPU: for PostgreSQL on another machine; off with SQLite)').choices(Object.keys(SEARCH_YIELD_CHOICES)).env('VERITRAIL_SEARCH_YIELD').default('auto'))
  .addOption(new Option('--forward-lease-ms <ms>', 'with a shared store: how long one node holds delivery of a destination unrenewed (another takes over a dead node\'s destinations within it)').env('VERITRAIL_FORWARD_LEASE_MS').default(String(DEFAULT_FORWARD_LEASE_MS)))
  .action(async (options: { port: string; host: string; data: string; store?: string; originHost?: string; checkpointKey?: string; logLevel: string; region?: string; auditReads?: boolean; serverSecret?: string; metricsAccess: 'public' | 'org'; rateLimit: string; searchYield: keyof typeof SEARCH_YIELD_CHOICES; forwardLeaseMs: string }) => {
    // The server (HTTP, every dialect) is loaded only to serve: the offline commands stay light.
    const { serve } = await import('./serve.ts');
    await serve({
      port: Number(options.port),
      host: options.host,
      dataDir: options.data,
      storeUrl: options.store,
      originHost: options.originHost,
      checkpointKey: options.checkpointKey,
      serverSecret: options.serverSecret,
      log: { level: options.logLevel },
      region: options.region,
      auditReads: options.auditReads === true,
      metricsAccess: options.metricsAccess,
      rateLimitPerMinute: Number(options.rateLimit),
      forwarding: { leaseMs: Number(options.forwardLeaseMs) },
      searchPacing: { ...SEARCH_YIELD_CHOICES[options.searchYield] },
    });
  });

program
  .command('fsck')
  .description('recompute every leaf, tile and root of the store from the stored entries and name the first bad index')
  .addOption(dataOption())
  .addOption(storeOption())
  .option('--project <id>', 'check one project only')
  .option('--key <vkey>', 'verifier key (text or file); default: the public half of the checkpoint key')
  .addOption(checkpointKeyOption())
  .action(async (options: { data: string; store?: string; project?: string; key?: string; checkpointKey?: string }) => {
    const [{ openStore }, { fsckLog }] = await Promise.all([import('../store/open-store.ts'), import('../log/fsck.ts')]);
    const verifier = options.key ? readVerifier(options.key) : loadSigner(options.data, options.checkpointKey);
    if (!verifier) {
      throw new Error(`fsck needs the log's key and found none: give --key VKEY (GET /v1/log/key), or --checkpoint-key (VERITRAIL_CHECKPOINT_KEY), or a --data directory holding ${CHECKPOINT_KEY_FILE}`);
    }
    const store = await openStore({ storeUrl: options.store, dataDir: options.data, readOnly: true });
    let failed = 0;
    try {
      const projects = (await store.listProjects()).filter((p) => !options.project || p.id === options.project);
      if (options.project && projects.length === 0) throw new Error(`no project ${options.project} in ${options.data}`);
      for (const project of projects) {
        const check = await fsckLog(store, project.id, verifier);
        if (check.ok) console.log(`ok    ${project.id}  ${check.treeSize} entries, checkpoint at ${check.checkpointSize ?? 'none'}`);
        else {
          failed++;
          console.log(`BAD   ${project.id}  ${check.firstBadIndex !== undefined ? `first bad index ${check.firstBadIndex}: ` : ''}${check.problem}`);
        }
      }
    } finally {
      await store.close();
    }
    process.exitCode = failed > 0 ? 1 : 0;
  });

program
  .command('verify')
  .description("verify an export offline (FILE --key VKEY), or a server's checkpoint against the last one seen (--server URL --project ID)")
  .argument('[file]', 'a JSONL export')
  .option('--key <vkey>', 'verifier key: the vkey text from GET /v1/log/key, or a file holding it')
  .option('--server <url>', 'server base URL, e.g. http://127.0.0.1:8080')
  .option('--project <id>', 'project id (with --server)')
  .addOption(new Option('--api-key <key>', 'a key that may read the project (with --server)').env('VERITRAIL_API_KEY'))
  .option('--state <file>', 'where the last checkpoint seen is kept', path.join(os.homedir(), '.veritrail', 'verify-state.json'))
  .option('--threads <n>', 'worker threads that hash a FILE (default: 2 for files of 32 MiB or more, 0 below)', (value) => {
    if (!/^\d+$/.test(value) || Number(value) > 64) throw new InvalidArgumentError('a whole number from 0 to 64');
    return Number(value);
  })
  .action(async (file: string | undefined, options: { key?: string; server?: string; project?: string; apiKey?: string; state: string; threads?: number }) => {
    if (options.server) {
      if (!options.project) throw new Error('--server needs --project');
      const { monitorCheckpoint } = await import('../log/checkpoint-monitor.ts');
      const result = await monitorCheckpoint({ server: options.server, projectId: options.project, apiKey: options.apiKey, vkey: options.key ? readVerifier(options.key).text : undefined, stateFile: options.state });
      const sizes = `previous size ${result.previous?.size ?? 'none'}, current size ${result.current?.size ?? 'unknown'}`;
      if (result.ok) console.log(`ok: ${sizes}; consistent`);
      else console.log(`FAILED: ${result.problem} (${sizes})`);
      process.exitCode = result.ok ? 0 : 1;
      return;
    }
    if (!file || !options.key) throw new Error('give an export FILE and --key VKEY (or --server URL --project ID)');
    const started = performance.now();
    const { verifyExportFile } = await import('../log/export-verifier.ts');
    // A from/to export's lines are checked against its checkpoint, the file's last line: read it first.
    const result = await verifyExportFile(file, readVerifier(options.key), options.threads !== undefined ? { threads: options.threads } : {});
    const seconds = (performance.now() - started) / 1000;
    if (result.ok) {
      const what = result.partial ? 'entries of a from/to export each proven included in' : 'entries verified against';
      console.log(`ok: ${result.entries} ${what} checkpoint ${result.checkpoint!.origin} size ${result.checkpoint!.size} (${Math.round(result.entries / seconds)} entries/s)`);
      if (result.partial) console.log('note: a from/to export proves each line is in the log; whether the range left events out can only be checked on a whole-log export');
      process.exitCode = 0;
    } else {
      console.log(`FAILED${result.firstBadIndex !== undefined ? ` at index ${result.firstBadIndex}` : ''}: ${result.problem}`);
      process.exitCode = 1;
    }
  });

program
  .command('export')
  .description('export a project from the data directory (read-only, beside a running server or not), up to its latest signed checkpoint')
  .requiredOption('--project <id>', 'project id')
  .addOption(new Option('--format <format>', 'jsonl (verifiable with veritrail verify) or csv').choices(['jsonl', 'csv']).default('jsonl'))
  .option('--from <time>', 'RFC 3339: events whose time is at or after it')
  .option('--to <time>', 'RFC 3339: events whose time is before it')
  .option('--out <file>', 'write here instead of standard output')
  .addOption(dataOption())
  .addOption(storeOption())
  .action(async (options: { project: string; format: 'jsonl' | 'csv'; from?: string; to?: string; out?: string; data: string; store?: string }) => {
    const [{ parseTimeRange }, { openStore }, { exportCsv, exportJsonl }, { TreeReader }, { Readable }, { pipeline }] = await Promise.all([
      import('../query/search.ts'),
      import('../store/open-store.ts'),
      import('../query/export.ts'),
      import('../log/tree-reader.ts'),
      import('node:stream'),
      import('node:stream/promises'),
    ]);
    const range = parseTimeRange(options.from, options.to);
    const store = await openStore({ storeUrl: options.store, dataDir: options.data, readOnly: true });
    try {
      if (!(await store.getProject(options.project))) throw new Error(`no project ${options.project} in ${options.data}`);
      const checkpoint = await store.latestCheckpoint(options.project);
      if (!checkpoint) throw new Error(`project ${options.project} has no signed checkpoint yet; start the server once`);
      const lines =
        options.format === 'csv' ? exportCsv(store, options.project, checkpoint.treeSize, range) : exportJsonl(store, new TreeReader(store), options.project, checkpoint, range);
      // pipeline pulls the generator only as fast as the file or pipe drains: back-pressure.
      await pipeline(Readable.from(lines), options.out ? fs.createWriteStream(options.out) : process.stdout);
      if (options.out) console.error(`exported ${options.project} up to checkpoint size ${checkpoint.treeSize} to ${options.out}`);
    } finally {
      await store.close();
    }
  });


const keys = program.command('keys').description('manage keys offline (with SQLite, the server must not be running on this data directory)');
keys
  .command('create')
  .description('create a key and print it once')
  .requiredOption('--role <role>', 'ORG_OWNER, PROJECT_OWNER, PROJECT_WRITER or PROJECT_READ_ONLY')
  .option('--project <id>', 'project of a project key')
  .option('--description <text>', 'what the key is for', '')
  .addOption(new Option('--type <type>', 'native (Bearer only), atlas (also an Atlas API key pair for HTTP Digest) or service-account (also OAuth client credentials)').choices([...KEY_TYPES]).default('native'))
  .addOption(new Option('--server-secret <base64>', 'the server secret, when the server is given one instead of the data directory file').env('VERITRAIL_SERVER_SECRET'))
  .addOption(dataOption())
  .addOption(storeOption())
  .action(async (options: { role: string; project?: string; description: string; data: string; store?: string; type: KeyType; serverSecret?: string }) => {
    if (!isRole(options.role)) throw new Error(`unknown role ${options.role}`);
    if ((options.role === 'ORG_OWNER') !== (options.project === undefined)) throw new Error('ORG_OWNER keys take no --project; project keys need one');
    const [{ openStore }, { newApiKey, serviceAccountClientId }, { SecretBox }, { loadOrCreateServerSecret }] = await Promise.all([
      import('../store/open-store.ts'),
      import('../auth/api-keys.ts'),
      import('../core/secret-box.ts'),
      import('../log/server-secret.ts'),
    ]);
    const store = await openStore({ storeUrl: options.store, dataDir: options.data });
    try {
      if (options.project && !(await store.getProject(options.project))) throw new Error(`no project ${options.project}`);
      const credentials: KeyCredentials =
        options.type === 'atlas' ? { type: 'atlas', secretBox: new SecretBox(loadOrCreateServerSecret(options.data, options.serverSecret, { create: !store.capabilities.concurrentWriters })) } : { type: options.type };
      const { record, secret } = newApiKey(options.role, options.project ?? null, options.description, Date.now(), credentials);
      await store.createKey(record);
      // A native key prints alone, as before; the other types print their scheme's names too.
      if (options.type === 'atlas') console.log(JSON.stringify({ id: record.id, publicKey: record.id, privateKey: secret }));
      else if (options.type === 'service-account') console.log(JSON.stringify({ id: record.id, clientId: serviceAccountClientId(record.id), clientSecret: secret }));
      else console.log(secret);
    } finally {
      await store.close();
    }
  });

keys
  .command('checkpoint')
  .description('make a new checkpoint signer key and print it once (give the same one to every node sharing a PostgreSQL store)')
  .requiredOption('--origin-host <name>', 'the public host name the nodes serve as (their --origin-host); it names the key')
  .action((options: { originHost: string }) => {
    // Printed to standard output only, for the operator to put in a secret store.
    console.log(generateSigner(options.originHost).signerText);
  });

function readVerifier(keyOrFile: string): NoteVerifier {
  const text = fs.existsSync(keyOrFile) ? fs.readFileSync(keyOrFile, 'utf8').trim() : keyOrFile;
  return parseVerifierKey(text);
}

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`veritrail: ${error.message}`);
  process.exitCode = 2;
});
