/** Projects (spec/api.md "Projects and keys"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ProjectRecord } from '../../store/store.ts';
import { CreateProjectBody, ErrorBody, Project, ProjectList, ProjectParams } from './schemas.ts';

export function projectView(project: ProjectRecord) {
  return { id: project.id, name: project.name, createdAt: project.createdAt, logOrigin: project.logOrigin };
}

export const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.post(
    '/projects',
    {
      config: { access: 'org:admin', operation: 'CreateProject', audit: 'change' },
      schema: { tags: ['projects'], summary: 'Create a project', body: CreateProjectBody, response: { 201: Project, 400: ErrorBody } },
    },
    async (request, reply) => {
      const project = await node.createProject(request.body.name);
      return reply.code(201).send(projectView(project));
    },
  );

  app.get(
    '/projects',
    { config: { access: 'project:read', operation: 'ListProjects', audit: 'read' }, schema: { tags: ['projects'], summary: 'List the projects this key can see', response: { 200: ProjectList } } },
    async (request) => {
      const principal = request.principal!;
      const all = await node.store.listProjects();
      const visible = all.filter((p) => (principal.projectId === null ? true : p.id === principal.projectId));
      return { results: visible.map(projectView), totalCount: visible.length };
    },
  );

  // Every key of a project may read the project itself, whatever its role.
  app.get(
    '/projects/:projectId',
    { config: { access: 'project:write', operation: 'GetProject', audit: 'read' }, schema: { tags: ['projects'], summary: 'Read a project', params: ProjectParams, response: { 200: Project } } },
    async (request) => projectView(request.project!),
  );
};
