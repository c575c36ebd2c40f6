/**
 * The project a call names, checked for a principal, in the one order every dialect uses:
 * malformed id -> key of another project -> no such project -> system project (ORG_OWNER only).
 * A key bound to another project is refused before the lookup, so it cannot probe which
 * projects exist.
 */
import { requireProjectScope, type Principal } from '../auth/principal.ts';
import { VT_ERR_FORBIDDEN_ROLE, VT_ERR_PROJECT_ID_MALFORMED, VT_ERR_PROJECT_NOT_FOUND } from '../core/errors.ts';
import { isProjectId } from '../core/ids.ts';
import type { ProjectRecord } from '../store/store.ts';
import type { VeritrailNode } from './node.ts';

export async function resolveProject(node: VeritrailNode, principal: Principal, projectId: string): Promise<ProjectRecord> {
  if (!isProjectId(projectId)) throw new VT_ERR_PROJECT_ID_MALFORMED(JSON.stringify(projectId));
  requireProjectScope(principal, projectId);
  const project = await node.project(projectId);
  if (!project) throw new VT_ERR_PROJECT_NOT_FOUND(projectId);
  // The system project holds organisation-wide self-audit records: ORG_OWNER only.
  if (project.system && principal.role !== 'ORG_OWNER') throw new VT_ERR_FORBIDDEN_ROLE(principal.role, 'ORG_OWNER');
  return project;
}
