/**
 * The MongoDB Atlas auditing API (spec/atlas.md), one encapsulated plugin registered under
 * /api/atlas: `GET` and `PATCH /v2/groups/{groupId}/auditLog` and the same on `/v1.0`, with
 * HTTP Digest (Atlas API key pairs) or Bearer access tokens (service accounts), Atlas's error
 * bodies, `envelope` and `pretty`. The token endpoint is its sibling plugin, oauth.ts.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { VT_ERR_BODY_NOT_JSON, VT_ERR_METHOD_NOT_ALLOWED, VT_ERR_ROUTE_NOT_FOUND } from '../../../core/errors.ts';
import { documentErrorBody } from '../../api-docs.ts';
import { registerJsonBodyParsers } from '../../json-body-parsers.ts';
import { atlasAuthHook } from './auth-hook.ts';
import { atlasErrorHandler } from './errors.ts';
import { ApiError, AtlasQuery, AuditLog, GroupParams } from './schemas.ts';
import { ATLAS_API_VERSIONS, atlasMergeBase, fromAuditLogPatch, queryFlag, renderAtlas, toAuditLog, type AtlasApiVersion } from './translate.ts';

/** Headers Atlas sends on every response (recorded, §4.4). */
const SECURITY_HEADERS = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
};

function send(request: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const query = request.query as { pretty?: string; envelope?: string };
  return reply
    .code(status)
    .type(request.atlasContentType!)
    .send(renderAtlas(body, status, { pretty: queryFlag(query.pretty), envelope: queryFlag(query.envelope) }));
}

function auditLogRoutes(app: FastifyInstance, version: AtlasApiVersion): void {
  const node = app.veritrail;
  const url = `/${version.path}/groups/:groupId/auditLog`;
  const schema = { tags: ['atlas'], params: GroupParams, querystring: AtlasQuery };

  app.get(
    url,
    {
      config: { operation: 'GetAuditConfig', audit: 'read', atlasApiVersion: version },
      schema: { ...schema, summary: `Atlas ${version.path}: return the auditing configuration`, response: { 200: AuditLog, '4xx': ApiError } },
    },
    async (request, reply) => send(request, reply, 200, toAuditLog((await node.auditConfigs.current(request.project!.id)).config)),
  );

  app.patch(
    url,
    {
      config: { operation: 'UpdateAuditConfig', audit: 'change', atlasApiVersion: version },
      schema: { ...schema, summary: `Atlas ${version.path}: update the auditing configuration (merge)`, response: { [version.patchStatus]: AuditLog, '4xx': ApiError } },
    },
    async (request, reply) => {
      if (request.body === undefined) throw new VT_ERR_BODY_NOT_JSON('the body is empty');
      const patch = fromAuditLogPatch(request.body);
      const state = await node.auditConfigs.update(request.project!.id, patch, { changedBy: request.principal!.keyId, via: `atlas-${version.path}` }, atlasMergeBase);
      return send(request, reply, version.patchStatus, toAuditLog(state.config));
    },
  );
}

export const atlasApi: FastifyPluginAsync = async (app) => {
  // JSON bodies: `application/json` and the versioned `application/vnd.atlas.<date>+json`.
  registerJsonBodyParsers(app, ['application/json', /^application\/vnd\.atlas\.[0-9a-z.~-]+\+json\s*(;|$)/i]);
  app.setErrorHandler(atlasErrorHandler);
  documentErrorBody(app, ApiError);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    // Atlas sends plain `application/json` (recorded); Fastify would add a charset to it.
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') reply.header('content-type', 'application/json');
    return payload;
  });
  app.addHook('onRequest', atlasAuthHook);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const known = ATLAS_API_VERSIONS.some((v) => new RegExp(`^/api/atlas/${v.path.replace('.', '\\.')}/groups/[^/]+/auditLog$`).test(path));
    atlasErrorHandler(known ? new VT_ERR_METHOD_NOT_ALLOWED(request.method, path) : new VT_ERR_ROUTE_NOT_FOUND(request.method, path), request, reply);
  });
  for (const version of ATLAS_API_VERSIONS) auditLogRoutes(app, version);
};
