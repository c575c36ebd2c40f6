/**
 * Who is calling, and what they may do. Checks run in one order for every project-scoped
 * route (and every dialect that maps onto them): a key bound to another project gets 403
 * before the project is looked up, so a project key cannot probe which projects exist.
 */
import { VT_ERR_FORBIDDEN_PROJECT, VT_ERR_FORBIDDEN_ROLE } from '../core/errors.ts';
import type { Role } from '../core/roles.ts';

export interface Principal {
  keyId: string;
  role: Role;
  /** The key's project; null for ORG_OWNER keys, which reach every project. */
  projectId: string | null;
}

/** What an action needs. */
export type Permission = 'org:admin' | 'project:admin' | 'project:write' | 'project:read';

const GRANTS: Record<Role, readonly Permission[]> = {
  ORG_OWNER: ['org:admin', 'project:admin', 'project:write', 'project:read'],
  PROJECT_OWNER: ['project:admin', 'project:write', 'project:read'],
  PROJECT_WRITER: ['project:write'],
  PROJECT_READ_ONLY: ['project:read'],
};

const NEEDED_ROLE: Record<Permission, string> = {
  'org:admin': 'ORG_OWNER',
  'project:admin': 'PROJECT_OWNER or ORG_OWNER',
  'project:write': 'PROJECT_WRITER, PROJECT_OWNER or ORG_OWNER',
  'project:read': 'PROJECT_READ_ONLY, PROJECT_OWNER or ORG_OWNER',
};

export function can(principal: Principal, permission: Permission): boolean {
  return GRANTS[principal.role].includes(permission);
}

/** Throws 403 unless the principal may reach `projectId` at all. */
export function requireProjectScope(principal: Principal, projectId: string): void {
  if (principal.projectId !== null && principal.projectId !== projectId) throw new VT_ERR_FORBIDDEN_PROJECT();
}

/** Throws 403 unless the principal's role grants `permission`. */
export function requirePermission(principal: Principal, permission: Permission): void {
  if (!can(principal, permission)) throw new VT_ERR_FORBIDDEN_ROLE(principal.role, NEEDED_ROLE[permission]);
}
