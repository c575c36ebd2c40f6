/** Keys of a project (spec/api.md "Projects and keys"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { newApiKey, serviceAccountClientId, type KeyCredentials } from '../../auth/api-keys.ts';
import type { KeyRecord } from '../../store/store.ts';
import { VT_ERR_KEY_NOT_FOUND } from '../../core/errors.ts';
import { CreatedKey, CreateKeyBody, ErrorBody, KeyList, KeyParams, ProjectParams } from './schemas.ts';

/** How an `atlas` key or a service account is named by its own scheme; nothing for native keys. */
function keyIdentity(key: KeyRecord) {
  if (key.type === 'atlas') return { type: key.type, publicKey: key.id };
  if (key.type === 'service-account') return { type: key.type, clientId: serviceAccountClientId(key.id) };
  return {};
}

export const keyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.post(
    '/projects/:projectId/keys',
    {
      config: { access: 'project:admin', operation: 'CreateKey', audit: 'change' },
      schema: { tags: ['keys'], summary: 'Create a key (shown once)', params: ProjectParams, body: CreateKeyBody, response: { 201: CreatedKey, 400: ErrorBody } },
    },
    async (request, reply) => {
      const type = request.body.type ?? 'native';
      const credentials: KeyCredentials = type === 'atlas' ? { type, secretBox: node.secretBox } : { type };
      const { record, secret } = newApiKey(request.body.role, request.project!.id, request.body.description ?? '', node.clock.now(), credentials);
      await node.store.createKey(record);
      // The other schemes' names for the same secret, shown once like `key` itself.
      const secretAliases = type === 'atlas' ? { privateKey: secret } : type === 'service-account' ? { clientSecret: secret } : {};
      return reply.code(201).send({ id: record.id, role: record.role, description: record.description, createdAt: record.createdAt, key: secret, ...keyIdentity(record), ...secretAliases });
    },
  );

  app.get(
    '/projects/:projectId/keys',
    { config: { access: 'project:admin', operation: 'ListKeys', audit: 'read' }, schema: { tags: ['keys'], summary: 'List live keys', params: ProjectParams, response: { 200: KeyList } } },
    async (request) => {
      const keys = await node.store.listKeys(request.project!.id);
      return { results: keys.map((key) => ({ id: key.id, role: key.role, description: key.description, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt, ...keyIdentity(key) })) };
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
