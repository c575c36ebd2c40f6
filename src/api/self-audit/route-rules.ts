/**
 * The self-audit contract every route must declare, checked over the whole route table when the
 * app starts (and by the tests), so a route added later by any dialect cannot forget it:
 *
 * - every route names its action in `config.operation`: it is the eventName of the route's
 *   self-audit records, failed authentications included. PascalCase (CreateProject), as
 *   CloudTrail names API actions; or snake_case where a dialect's own audit trail names its
 *   operations so (Qumulo: audit_modify_syslog_config, spec/qumulo.md §4.2), so its users find
 *   the names they know;
 * - every route that is not a read (GET or HEAD) and not public declares `config.audit`:
 *   `change` for anything that changes state (recorded always), `export`, `read`, or `ingest`
 *   for routes that append the caller's own events (those events are their own record).
 */
import type { RouteOptions } from 'fastify';
import type { AuditKind } from './index.ts';

/** An action's name: PascalCase, or snake_case where a dialect's own audit trail uses it. */
export const OPERATION_NAME = /^(?:[A-Z][A-Za-z0-9]+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)$/;
const AUDIT_KINDS: readonly AuditKind[] = ['change', 'read', 'export', 'ingest'];

/** True for methods that never change anything. */
export function isReadMethod(method: RouteOptions['method']): boolean {
  return [method].flat().every((m) => m === 'GET' || m === 'HEAD');
}

/** One sentence per route that breaks the contract, naming the fix; empty when all comply. */
export function routeRuleProblems(routes: readonly RouteOptions[]): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    const name = `${[route.method].flat().join(',')} ${route.url}`;
    const config = route.config ?? {};
    if (typeof config.operation !== 'string' || !OPERATION_NAME.test(config.operation)) {
      const given = typeof config.operation === 'string' ? ` (${JSON.stringify(config.operation)} is neither PascalCase nor snake_case)` : '';
      problems.push(`route ${name} names no action${given}: add config.operation, a name such as 'CreateThing' (the eventName of its self-audit records)`);
    }
    if (config.audit !== undefined && !AUDIT_KINDS.includes(config.audit)) {
      problems.push(`route ${name} has config.audit ${JSON.stringify(config.audit)}; use one of ${AUDIT_KINDS.join(', ')}`);
    }
    if (!isReadMethod(route.method) && config.access !== 'public' && config.audit === undefined) {
      problems.push(`route ${name} may change state but declares no config.audit: add audit: 'change' (or 'export', 'read', 'ingest' for event ingest)`);
    }
  }
  return problems;
}
