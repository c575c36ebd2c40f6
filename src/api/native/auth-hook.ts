/**
 * Authentication and authorisation of native routes, as an onRequest hook: it runs before the
 * body is read, so an unauthenticated client never gets its body parsed, and 401 comes before
 * any 4xx about the body. Order: 401 (key) -> 400 (malformed project id) -> 403 (key of another
 * project) -> 404 (no such project) -> 403 (role).
 */
import type { FastifyRequest } from 'fastify';
import { requirePermission, requireProjectScope } from '../../auth/principal.ts';
import { VT_ERR_FORBIDDEN_ROLE, VT_ERR_PROJECT_ID_MALFORMED, VT_ERR_PROJECT_NOT_FOUND } from '../../core/errors.ts';
import { isProjectId } from '../../core/ids.ts';

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
  if (projectId !== undefined) {
    if (!isProjectId(projectId)) throw new VT_ERR_PROJECT_ID_MALFORMED(JSON.stringify(projectId));
    requireProjectScope(principal, projectId);
    const project = await node.project(projectId);
    if (!project) throw new VT_ERR_PROJECT_NOT_FOUND(projectId);
    // The system project holds organisation-wide self-audit records: ORG_OWNER only.
    if (project.system && principal.role !== 'ORG_OWNER') throw new VT_ERR_FORBIDDEN_ROLE(principal.role, 'ORG_OWNER');
    request.project = project;
  }
  requirePermission(principal, access);
}
