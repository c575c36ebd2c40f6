/** Export (spec/api.md "Reading events"): a stream the offline verifier can check. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { exportJsonl } from '../../query/export.ts';
import { ProjectParams } from './schemas.ts';

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.get(
    '/projects/:projectId/export',
    {
      config: { access: 'project:read', operation: 'ExportEvents', audit: 'export' },
      schema: {
        tags: ['export'],
        summary: 'Export the whole log as JSONL, ending with the checkpoint that covers every line',
        params: ProjectParams,
        querystring: Type.Object({ format: Type.Optional(Type.Literal('jsonl')) }),
        produces: ['application/x-ndjson'],
      },
    },
    async (request, reply) => {
      const projectId = request.project!.id;
      // Cover everything committed when the request arrived: wait (at most one checkpoint
      // interval) for a checkpoint at least that large, then export exactly its size.
      const checkpoint = await node.checkpointer.waitFor(projectId, await node.store.treeSize(projectId));
      return reply
        .type('application/x-ndjson')
        .header('content-disposition', `attachment; filename="${projectId}-${checkpoint.treeSize}.jsonl"`)
        .send(Readable.from(exportJsonl(node.store, node.reader, projectId, checkpoint)));
    },
  );
};
