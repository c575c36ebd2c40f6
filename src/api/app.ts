/**
 * The HTTP application: Fastify with the node's services, then each API surface as its own
 * plugin (STYLE.md §7: external plugins, then app services, then routes, in a fixed order).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { VT_ERR_ROUTE_NOT_FOUND } from '../core/errors.ts';
import { atlasApi } from './compat/atlas/index.ts';
import { atlasOauth } from './compat/atlas/oauth.ts';
import { healthRoutes } from './health.ts';
import { nativeApi } from './native/index.ts';
import { qumuloApi } from './compat/qumulo/index.ts';
import { nativeErrorHandler } from './native/errors.ts';
import type { VeritrailNode } from './node.ts';
import { servicesPlugin } from './services.ts';
import { selfAuditPlugin } from './self-audit/index.ts';
import { routeTablePlugin } from './route-table.ts';
import { scrubSecrets } from './redact.ts';
import { metricsPlugin } from './metrics.ts';
import { apiDocsPlugin } from './api-docs.ts';
import { rateLimitPlugin } from './rate-limit.ts';

/**
 * A client's X-Request-Id is kept only if it is short and plain, so it cannot forge log lines,
 * and holds no key, because it is written into every log line and self-audit record.
 */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function loggerOptions(log: VeritrailNode['config']['log']): FastifyServerOptions['logger'] {
  if (log === false || log === undefined) return false;
  const options = log === true ? {} : log;
  return {
    level: options.level ?? 'info',
    ...(options.stream ? { stream: options.stream } : {}),
    // Secrets travel in headers; no header is logged, and these paths are cut if one ever is.
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
    // The last line of defence: a key (or PEM private key, or Bearer value) that reached a
    // line anyway, in a message or an error, is cut before the line is written.
    hooks: { streamWrite: scrubSecrets },
  };
}

export async function buildApp(node: VeritrailNode): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(node.config.log),
    // Fastify's two lines per request are replaced by one access-log line (onResponse below).
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) && scrubSecrets(given) === given ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });

  await app.register(routeTablePlugin);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // After the request id is set (a 429 carries it too), before every scope's own hooks.
  await app.register(rateLimitPlugin, { perMinute: node.config.rateLimitPerMinute });
  // One access-log line per request, after the response: method, route, status, duration. The
  // route pattern, not the URL; the path alone for unmatched requests (a query may hold a key).
  app.addHook('onResponse', async (request, reply) => {
    const url = request.routeOptions.url ?? request.url.split('?')[0];
    request.log.info({ method: request.method, url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // Before any scope is made, so every scope starts from the native error format.
  app.setErrorHandler(nativeErrorHandler);
  app.setNotFoundHandler((request, reply) => nativeErrorHandler(new VT_ERR_ROUTE_NOT_FOUND(request.method, request.url.split('?')[0]!), request, reply));

  await app.register(apiDocsPlugin);
  await app.register(servicesPlugin, { node });
  await app.register(selfAuditPlugin, { node });
  await app.register(metricsPlugin, { node });
  await app.register(healthRoutes);
  await app.register(nativeApi, { prefix: '/v1' });
  await app.register(atlasApi, { prefix: '/api/atlas' });
  await app.register(atlasOauth, { prefix: '/api/oauth' });
  // Filters that match nothing (they use $where, $text…) are worth an operator's attention.
  node.auditConfigs.policies.onWarning = (projectId, warning) => app.log.warn({ projectId }, `audit filter: ${warning}`);
  // Qumulo Core's /v1/session/login and /v1/audit/* (spec/qumulo.md), beside the native API.
  await app.register(qumuloApi, { prefix: '/v1' });
  return app;
}
