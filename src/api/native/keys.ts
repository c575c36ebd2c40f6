/** Keys of a project (spec/api.md "Projects and keys"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { newApiKey } from '../../auth/api-keys.ts';
import { VT_ERR_KEY_NOT_FOUND } from '../../core/errors.ts';
import { CreatedKey, CreateKeyBody, ErrorBody, KeyList, KeyParams, ProjectParams } from './schemas.ts';

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.post(
    '/projects/:projectId/keys',
    {
      config: { access: 'project:admin', operation: 'CreateKey', audit: 'change' },
      schema: { tags: ['keys'], summary: 'Create a key (shown once)', params: ProjectParams, body: CreateKeyBody, response: { 201: CreatedKey, 400: ErrorBody } },
    },
    async (request, reply) => {
      const { record, secret } = newApiKey(request.body.role, request.project!.id, request.body.description ?? '', node.clock.now());
      await node.store.createKey(record);
      return reply.code(201).send({ id: record.id, role: record.role, description: record.description, createdAt: record.createdAt, key: secret });
    },
  );

  app.get(
    '/projects/:projectId/keys',
    { config: { access: 'project:admin', operation: 'ListKeys', audit: 'read' }, schema: { tags: ['keys'], summary: 'List live keys', params: ProjectParams, response: { 200: KeyList } } },
    async (request) => {
      const keys = await node.store.listKeys(request.project!.id);
      return { results: keys.map(({ id, role, description, createdAt, lastUsedAt }) => ({ id, role, description, createdAt, lastUsedAt })) };
    },
  );

  app.delete(
    '/projects/:projectId/keys/:keyId',
    { config: { access: 'project:admin', operation: 'DeleteKey', audit: 'change' }, schema: { tags: ['keys'], summary: 'Revoke a key; it fails on its next request', params: KeyParams } },
    async (request, reply) => {
      const revoked = await node.store.revokeKey(request.project!.id, request.params.keyId);
      if (!revoked) throw new VT_ERR_KEY_NOT_FOUND(request.params.keyId, request.project!.id);
      return reply.code(204).send();
    },
  );
};
