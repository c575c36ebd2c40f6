/**
 * The Qumulo Core audit destination API (spec/qumulo.md), one encapsulated plugin registered
 * under /v1: session login, and the CloudWatch and syslog configuration and status documents.
 *
 * Cluster = project. A Qumulo client logs in with a Veritrail key id as `username` and the key
 * itself as `password`, and gets a short-lived bearer token; a Veritrail key is accepted
 * directly as a bearer token too. The key's project is the cluster. An ORG_OWNER key, which has
 * no project, names one with the `X-Veritrail-Project` header. Reads need a key that may read
 * the project (PRIVILEGE_AUDIT_READ); PUT and PATCH need PROJECT_OWNER or ORG_OWNER
 * (PRIVILEGE_AUDIT_WRITE).
 */
import os from 'node:os';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { TSchema } from 'typebox';
import { KEY_PREFIX } from '../../../auth/api-keys.ts';
import { bearerToken } from '../../../auth/bearer-token.ts';
import { requirePermission } from '../../../auth/principal.ts';
import { issueSessionToken, openSessionToken } from '../../../auth/session-tokens.ts';
import { VT_ERR_AUTH_INVALID, VT_ERR_AUTH_MISSING, VT_ERR_VALIDATION } from '../../../core/errors.ts';
import type { Destination } from '../../../forward/destination.ts';
import type { DestinationStatus } from '../../../forward/destination-worker.ts';
import { syslogHostname } from '../../../forward/syslog-format.ts';
import { documentErrorBody } from '../../api-docs.ts';
import { etag, ifMatch } from '../../etag.ts';
import { resolveProject } from '../../project-access.ts';
import { qumuloErrorHandler } from './errors.ts';
import {
  CloudwatchConfig,
  CloudwatchConfigDelta,
  CloudwatchStatus,
  LoginBody,
  LoginResponse,
  QumuloErrorBody,
  SyslogConfig,
  SyslogConfigDelta,
  SyslogConfigPut,
  SyslogStatus,
} from './schemas.ts';
import {
  applyCloudwatch,
  applySyslog,
  cloudwatchConfig,
  cloudwatchStatus,
  QUMULO_CLOUDWATCH_ID,
  QUMULO_SYSLOG_ID,
  syslogConfig,
  syslogStatus,
} from './translate.ts';

/** Authenticates a Qumulo call: session token or Veritrail key; binds the cluster's project. */
async function qumuloAuthHook(request: FastifyRequest): Promise<void> {
  const access = request.routeOptions.config.access;
  if (access === undefined || access === 'public') return;
  const node = request.server.veritrail;
  let principal;
  try {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new VT_ERR_AUTH_MISSING();
    const key = token.startsWith(KEY_PREFIX) ? token : openSessionToken(node.secretBox, token, node.clock.now());
    if (!key) throw new VT_ERR_AUTH_INVALID();
    principal = await node.authenticator.fromSecret(key);
  } catch (error) {
    // Credentials were presented and refused (another scheme included): a failed
    // authentication, which self-audit records. A request with no Authorization header is not one.
    if (request.headers.authorization !== undefined) request.authFailed = true;
    throw error;
  }
  request.principal = principal;
  const named = request.headers['x-veritrail-project'];
  const projectId = principal.projectId ?? (typeof named === 'string' ? named : undefined);
  if (projectId === undefined) throw new VT_ERR_VALIDATION('an ORG_OWNER key must name the cluster\'s project in the X-Veritrail-Project header');
  request.project = await resolveProject(node, principal, projectId);
  requirePermission(principal, access);
}

/** What differs between the two audit targets; the routes are the same. */
interface Target<C> {
  path: 'cloudwatch' | 'syslog';
  destinationId: string;
  operation: string;
  config: TSchema;
  put: TSchema;
  delta: TSchema;
  status: TSchema;
  toConfig(d: Destination | undefined): C;
  apply(current: Destination | undefined, change: Partial<C>, projectId: string): Destination;
  toStatus(status: DestinationStatus | undefined): unknown;
}

const TARGETS: Array<Target<any>> = [
  {
    path: 'cloudwatch',
    destinationId: QUMULO_CLOUDWATCH_ID,
    operation: 'audit_modify_cloudwatch_config',
    config: CloudwatchConfig,
    put: CloudwatchConfig,
    delta: CloudwatchConfigDelta,
    status: CloudwatchStatus,
    toConfig: cloudwatchConfig,
    // The stream name Qumulo never documented; proposed in qumulo.md §4.4: <hostname>-<projectId>.
    apply: (current, change, projectId) => applyCloudwatch(current, change, `${syslogHostname(os.hostname())}-${projectId}`),
    toStatus: cloudwatchStatus,
  },
  {
    path: 'syslog',
    destinationId: QUMULO_SYSLOG_ID,
    operation: 'audit_modify_syslog_config',
    config: SyslogConfig,
    put: SyslogConfigPut,
    delta: SyslogConfigDelta,
    status: SyslogStatus,
    toConfig: syslogConfig,
    apply: (current, change) => applySyslog(current, change),
    toStatus: syslogStatus,
  },
];

export const qumuloApi: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;
  app.setErrorHandler(qumuloErrorHandler);
  documentErrorBody(app, QumuloErrorBody);
  app.addHook('onRequest', qumuloAuthHook);

  app.post(
    '/session/login',
    {
      config: { access: 'public', operation: 'rest_login' },
      schema: { tags: ['qumulo'], summary: 'Qumulo login: username = key id, password = the key; returns a one-hour bearer token', body: LoginBody, response: { 200: LoginResponse, 401: QumuloErrorBody } },
    },
    async (request) => {
      try {
        const principal = await node.authenticator.fromSecret(request.body.password);
        if (principal.keyId !== request.body.username) throw new VT_ERR_AUTH_INVALID();
      } catch (error) {
        request.authFailed = true;
        throw error;
      }
      return { bearer_token: issueSessionToken(node.secretBox, request.body.password, node.clock.now()) };
    },
  );

  for (const target of TARGETS) {
    const configPath = `/audit/${target.path}/config`;
    const read = async (projectId: string) => node.destinations.get(projectId, target.destinationId);

    app.get(
      configPath,
      {
        config: { access: 'project:read', operation: `audit_get_${target.path}_config`, audit: 'read' },
        schema: { tags: ['qumulo'], summary: `Read the ${target.path} audit configuration (with its ETag)`, response: { 200: target.config, 401: QumuloErrorBody, 403: QumuloErrorBody } },
      },
      async (request, reply) => {
        const current = await read(request.project!.id);
        return reply.header('etag', etag(current.version)).send(target.toConfig(current.destination));
      },
    );

    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url: configPath,
        config: { access: 'project:admin', operation: target.operation, audit: 'change' },
        schema: {
          tags: ['qumulo'],
          summary: `${method === 'PUT' ? 'Set' : 'Modify'} the ${target.path} audit configuration (optional If-Match: the ETag)`,
          body: method === 'PUT' ? target.put : target.delta,
          response: { 200: target.config, 400: QumuloErrorBody, 412: QumuloErrorBody },
        },
        handler: async (request, reply) => {
          const projectId = request.project!.id;
          // DestinationService validates the result; qumuloErrorHandler gives its problems Qumulo's field names.
          const stored = await node.destinations.write(projectId, target.destinationId, (current) => target.apply(current, request.body as object, projectId), {
            ifMatch: ifMatch(request.headers['if-match']),
          });
          return reply.header('etag', etag(stored.version)).send(target.toConfig(stored.destination));
        },
      });
    }

    app.get(
      `/audit/${target.path}/status`,
      {
        config: { access: 'project:read', operation: `audit_get_${target.path}_status`, audit: 'read' },
        schema: { tags: ['qumulo'], summary: `The ${target.path} forwarder's status`, response: { 200: target.status } },
      },
      async (request) => {
        const projectId = request.project!.id;
        const current = await read(projectId);
        const status = current.destination ? await node.forwarder.status(projectId, target.destinationId) : undefined;
        return target.toStatus(status);
      },
    );
  }
};
