/**
 * Authentication and authorisation of native routes, as an onRequest hook: it runs before the
 * body is read, so an unauthenticated client never gets its body parsed, and 401 comes before
 * any 4xx about the body. Order: 401 (key) -> 400 (malformed project id) -> 403 (key of another
 * project) -> 404 (no such project) -> 403 (role).
 */
import type { FastifyRequest } from 'fastify';
import { requirePermission } from '../../auth/principal.ts';
import { resolveProject } from '../project-access.ts';

export async function nativeAuthHook(request: FastifyRequest): Promise<void> {
  const access = request.routeOptions.config.access;
  if (access === undefined || access === 'public') return;
  const node = request.server.veritrail;
  let principal;
  try {
    principal = await node.authenticator.fromAuthorization(request.headers.authorization);
  } catch (error) {
    // Credentials were presented and refused: a failed authentication, which self-audit
    // records. A request with no Authorization header at all is not one.
    if (request.headers.authorization !== undefined) request.authFailed = true;
    throw error;
  }
  request.principal = principal;
  const projectId = (request.params as { projectId?: string } | undefined)?.projectId;
  if (projectId !== undefined) request.project = await resolveProject(node, principal, projectId);
  requirePermission(principal, access);
}
