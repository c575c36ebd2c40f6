/** Export (spec/api.md "Reading events"): a stream the offline verifier can check, or CSV. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { exportCsv, exportJsonl } from '../../query/export.ts';
import { parseTimeRange } from '../../query/search.ts';
import { ExportQuery, ProjectParams } from './schemas.ts';

export const exportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.get(
    '/projects/:projectId/export',
    {
      config: { access: 'project:read', operation: 'ExportEvents', audit: 'export' },
      schema: {
        tags: ['export'],
        summary: 'Export the log (or a time range of it) as JSONL ending with the checkpoint that covers every line, or as CSV',
        params: ProjectParams,
        querystring: ExportQuery,
        produces: ['application/x-ndjson', 'text/csv'],
      },
    },
    async (request, reply) => {
      const projectId = request.project!.id;
      const range = parseTimeRange(request.query.from, request.query.to);
      // Cover everything committed when the request arrived: wait (at most one checkpoint
      // interval) for a checkpoint at least that large, then export exactly its size.
      const checkpoint = await node.checkpointer.waitFor(projectId, await node.store.treeSize(projectId));
      const csv = request.query.format === 'csv';
      const name = `${projectId}-${checkpoint.treeSize}${request.query.from || request.query.to ? '-range' : ''}.${csv ? 'csv' : 'jsonl'}`;
      // Readable.from pulls the generator only as fast as the socket drains: back-pressure.
      const stream = Readable.from(csv ? exportCsv(node.store, projectId, checkpoint.treeSize, range) : exportJsonl(node.store, node.reader, projectId, checkpoint, range));
      return reply
        .type(csv ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(stream);
    },
  );
};
