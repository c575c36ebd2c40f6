/**
 * Authentication and access of the Atlas auditing routes, as an onRequest hook so that nothing
 * is parsed, and nothing changes, before it passes: curl's first Digest request carries no
 * credentials (and for PATCH no body), and must only earn a challenge.
 *
 * Order (spec/atlas.md §6): 401 authentication -> 406 version -> 404 malformed group id ->
 * 401 key of another project -> 404 no such group -> 401 role below Project Owner. The one
 * deviation: a project key asking about another project gets 401 USER_CANNOT_ACCESS_GROUP
 * before the existence check (as in the native API), so it cannot probe which projects exist.
 */
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../../../auth/bearer-token.ts';
import { requirePermission, type Principal } from '../../../auth/principal.ts';
import { VeritrailError, VT_ERR_AUTH_MISSING } from '../../../core/errors.ts';
import { resolveProject } from '../../project-access.ts';
import type { AtlasApiVersion } from './translate.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The Atlas wire version a route serves. */
    atlasApiVersion?: AtlasApiVersion;
  }
  interface FastifyRequest {
    /** The negotiated Content-Type of a successful Atlas response. */
    atlasContentType?: string;
  }
}

async function authenticate(request: FastifyRequest, header: string): Promise<Principal> {
  const node = request.server.veritrail;
  if (/^Digest\s/i.test(header)) return node.digest.authenticate(header, request.method, request.raw.url ?? request.url);
  const token = bearerToken(header);
  if (token) return node.accessTokens.authenticate(token);
  throw new VT_ERR_AUTH_MISSING();
}

export async function atlasAuthHook(request: FastifyRequest): Promise<void> {
  const version = request.routeOptions.config.atlasApiVersion;
  if (!version) return; // the not-found handler: nothing to protect
  const header = request.headers.authorization;
  if (!header) {
    request.authChallenge = true;
    throw new VT_ERR_AUTH_MISSING();
  }
  try {
    request.principal = await authenticate(request, header);
  } catch (error) {
    // A right answer to an expired nonce is a step of the protocol; anything else presented
    // and refused is a failed authentication, which self-audit records.
    if (error instanceof VeritrailError && error.code === 'VT_ERR_AUTH_NONCE_STALE') request.authChallenge = true;
    else request.authFailed = true;
    throw error;
  }
  request.atlasContentType = version.negotiate(request.headers.accept);
  const groupId = (request.params as { groupId: string }).groupId;
  request.project = await resolveProject(request.server.veritrail, request.principal, groupId);
  requirePermission(request.principal, 'project:admin');
}
