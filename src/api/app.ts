/**
 * The HTTP application: Fastify with the node's services, then each API surface as its own
 * plugin (STYLE.md §7: external plugins, then app services, then routes, in a fixed order).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { VT_ERR_ROUTE_NOT_FOUND } from '../core/errors.ts';
import { healthRoutes } from './health.ts';
import { nativeApi } from './native/index.ts';
import { qumuloApi } from './compat/qumulo/index.ts';
import { nativeErrorBody, nativeErrorHandler } from './native/errors.ts';
import type { VeritrailNode } from './node.ts';
import { servicesPlugin } from './services.ts';
import { selfAuditPlugin } from './self-audit/index.ts';

/** A client's X-Request-Id is kept only if it is short and plain, so it cannot forge log lines. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function loggerOptions(log: VeritrailNode['config']['log']): FastifyServerOptions['logger'] {
  if (log === false || log === undefined) return false;
  const options = log === true ? {} : log;
  return {
    level: options.level ?? 'info',
    ...(options.stream ? { stream: options.stream } : {}),
    // Secrets travel in headers; no header is logged, and these paths are cut if one ever is.
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
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
      return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // One access-log line per request, after the response: method, route, status, duration.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.routeOptions.url ?? request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // The OpenAPI document is generated from the route schemas (OpenAPI 3.1).
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Veritrail', version: '1', description: 'The native API of Veritrail, a tamper-evident audit log (spec/api.md).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Veritrail key: vt_...' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(servicesPlugin, { node });
  await app.register(selfAuditPlugin, { node });
  app.setErrorHandler(nativeErrorHandler);
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(nativeErrorBody(new VT_ERR_ROUTE_NOT_FOUND(request.method, request.url.split('?')[0]!)));
  });
  await app.register(healthRoutes);
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(nativeApi, { prefix: '/v1' });
  // Qumulo Core's /v1/session/login and /v1/audit/* (spec/qumulo.md), beside the native API.
  await app.register(qumuloApi, { prefix: '/v1' });
  return app;
}
