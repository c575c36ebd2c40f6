/**
 * The project checks every dialect runs once it knows the caller and the project a call is
 * about, in one order: 400 (malformed id) -> 403 (key of another project) -> 404 (no such
 * project) -> 403 (the system project, ORG_OWNER only). Sets `request.project`.
 */
import type { FastifyRequest } from 'fastify';
import { requireProjectScope, type Principal } from '../auth/principal.ts';
import { VT_ERR_FORBIDDEN_ROLE, VT_ERR_PROJECT_ID_MALFORMED, VT_ERR_PROJECT_NOT_FOUND } from '../core/errors.ts';
import { isProjectId } from '../core/ids.ts';

export async function bindProject(request: FastifyRequest, principal: Principal, projectId: string): Promise<void> {
  if (!isProjectId(projectId)) throw new VT_ERR_PROJECT_ID_MALFORMED(JSON.stringify(projectId));
  requireProjectScope(principal, projectId);
  const project = await request.server.veritrail.project(projectId);
  if (!project) throw new VT_ERR_PROJECT_NOT_FOUND(projectId);
  // The system project holds organisation-wide self-audit records: ORG_OWNER only.
  if (project.system && principal.role !== 'ORG_OWNER') throw new VT_ERR_FORBIDDEN_ROLE(principal.role, 'ORG_OWNER');
  request.project = project;
}
