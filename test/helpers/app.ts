/**
 * `build(t)`: a real node (SQLite in a temporary directory) and its Fastify app, closed after
 * the test. Requests go through `app.inject`, which runs the whole HTTP stack in process.
 * `build(t, { engine: 'postgres' })` runs the node on a fresh database of the test process's
 * throwaway PostgreSQL cluster instead, with the shared checkpoint key and server secret such a
 * node must be given.
 */
import fs from 'node:fs';
import type { TestContext } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { VeritrailNode } from '../../src/api/node.ts';
import type { NodeConfig } from '../../src/api/node-config.ts';
import { randomBytes } from 'node:crypto';
import { tempDir, type EngineName } from './stores.ts';
import { postgresCluster } from './postgres.ts';
import { generateSigner } from '../../src/log/signed-note.ts';
import { newApiKey, type KeyCredentials } from '../../src/auth/api-keys.ts';
import type { Role } from '../../src/core/roles.ts';
import type { KeyRecord } from '../../src/store/store.ts';

export interface Built {
  app: FastifyInstance;
  node: VeritrailNode;
  orgKey: string;
  dataDir: string;
  /** An inject with a Bearer key. */
  call(key: string | undefined, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** A project and one key of each role in it. */
  project(name?: string): Promise<{ id: string; owner: string; writer: string; reader: string }>;
}

/**
 * A key made in the store, not through the API, so that it leaves no self-audit record (keys
 * made through the API do) and a project's log starts empty.
 */
export async function storeKey(
  node: VeritrailNode,
  role: Role,
  projectId: string | null,
  description: string,
  credentials?: KeyCredentials,
): Promise<{ record: KeyRecord; secret: string }> {
  const made = newApiKey(role, projectId, description, Date.now(), credentials);
  await node.store.createKey(made.record);
  return made;
}

export async function build(t: TestContext, options: NodeConfig & { engine?: EngineName } = {}): Promise<Built> {
  const { engine = 'sqlite', ...config } = options;
  const dataDir = config.dataDir ?? tempDir();
  let dropDatabase: (() => Promise<void>) | undefined;
  if (engine === 'postgres') {
    const cluster = await postgresCluster();
    const storeUrl = await cluster.createDatabase();
    dropDatabase = () => cluster.dropDatabase(storeUrl);
    Object.assign(config, { storeUrl, checkpointKey: generateSigner('veritrail.test').signerText, serverSecret: randomBytes(32).toString('base64'), ...config });
  }
  const node = await VeritrailNode.open({ dataDir, port: 0, originHost: 'veritrail.test', checkpointIntervalMs: 50, log: false, ...config });
  const app = await buildApp(node);
  t.after(async () => {
    await app.close();
    await node.close();
    await dropDatabase?.();
    if (!config.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const orgKey = node.firstKey!;
  const call: Built['call'] = (key, method, url, body, headers = {}) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    });
  const built: Built = {
    app,
    node,
    orgKey,
    dataDir,
    call,
    async project(name = 'test') {
      const created = await call(orgKey, 'POST', '/v1/projects', { name });
      if (created.statusCode !== 201) throw new Error(`couldn't create a project: ${created.body}`);
      const id = created.json<{ id: string }>().id;
      const key = async (role: Role) => (await storeKey(node, role, id, `test ${role}`)).secret;
      return { id, owner: await key('PROJECT_OWNER'), writer: await key('PROJECT_WRITER'), reader: await key('PROJECT_READ_ONLY') };
    },
  };
  return built;
}
