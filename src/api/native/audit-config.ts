/**
 * A project's audit configuration in the native API: `GET` and `PATCH
 * /v1/projects/{projectId}/audit-config` with Atlas's four fields (spec/atlas.md §3.1), plus the
 * version, who made it, and its history. A never-configured project shows what it does:
 * enabled, no filter, successful authCheck events kept (`configurationType: "NONE"`), and a
 * PATCH merges onto exactly what GET shows.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditConfigState } from '../audit-configs.ts';
import type { VeritrailNode } from '../node.ts';
import { AuditConfigHistory, AuditConfigPatchBody, AuditConfigView, ErrorBody, ProjectParams } from './schemas.ts';

function view(state: AuditConfigState, warning?: string) {
  return {
    ...state.config,
    version: state.version,
    updatedAt: state.updatedAt,
    ...(state.change ?? {}),
    ...(warning ? { warning } : {}),
  };
}

/** The warning of the compiled policy, when it is the one of this version. */
async function warningOf(node: VeritrailNode, projectId: string, state: AuditConfigState): Promise<string | undefined> {
  const policy = await node.auditConfigs.policy(projectId);
  return policy.version === state.version ? policy.warning : undefined;
}

export const auditConfigRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.get(
    '/projects/:projectId/audit-config',
    {
      config: { access: 'project:admin', operation: 'GetAuditConfig', audit: 'read' },
      schema: { tags: ['audit configuration'], summary: "Read the project's audit configuration", params: ProjectParams, response: { 200: AuditConfigView } },
    },
    async (request) => {
      const state = await node.auditConfigs.current(request.project!.id);
      return view(state, await warningOf(node, request.project!.id, state));
    },
  );

  app.patch(
    '/projects/:projectId/audit-config',
    {
      config: { access: 'project:admin', operation: 'UpdateAuditConfig', audit: 'change' },
      schema: {
        tags: ['audit configuration'],
        summary: 'Change the audit configuration; absent fields keep their values',
        params: ProjectParams,
        body: AuditConfigPatchBody,
        response: { 200: AuditConfigView, 400: ErrorBody },
      },
    },
    async (request) => {
      const projectId = request.project!.id;
      const { enabled, auditFilter, auditAuthorizationSuccess } = request.body;
      const state = await node.auditConfigs.update(projectId, { enabled, auditFilter, auditAuthorizationSuccess }, { changedBy: request.principal!.keyId, via: 'native' });
      return view(state, await warningOf(node, projectId, state));
    },
  );

  app.get(
    '/projects/:projectId/audit-config/history',
    {
      config: { access: 'project:admin', operation: 'ListAuditConfigVersions', audit: 'read' },
      schema: { tags: ['audit configuration'], summary: 'Every version of the configuration, oldest first', params: ProjectParams, response: { 200: AuditConfigHistory } },
    },
    async (request) => ({ results: (await node.auditConfigs.history(request.project!.id)).map((state) => view(state)) }),
  );
};
