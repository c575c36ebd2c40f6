/**
 * Ingest (spec/api.md "Ingest"): one object, a JSON array, or NDJSON. 201 once durably
 * sequenced; 200 for a single event whose id and content are already in the log.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VT_ERR_BODY_NOT_EVENTS, VT_ERR_VALIDATION } from '../../core/errors.ts';
import type { AppendReceipt } from '../../log/appender.ts';
import type { DroppedReceipt } from '../node.ts';
import { DEFAULT_BODY_LIMIT_BYTES } from '../node-config.ts';
import { NdjsonBody } from './body-parsers.ts';
import { DroppedReceipt as DroppedReceiptSchema, ErrorBody, IngestBody, IngestQuery, ProjectParams, Receipt } from './schemas.ts';
import { Type } from 'typebox';

export function receiptView(receipt: AppendReceipt | DroppedReceipt) {
  if ('recorded' in receipt) return receipt;
  return {
    eventId: receipt.eventId,
    index: receipt.index,
    leafHash: receipt.leafHash.toString('hex'),
    receivedAt: receipt.receivedAt,
    ...(receipt.checkpoint !== undefined ? { checkpoint: receipt.checkpoint } : {}),
    ...(receipt.inclusionProof ? { inclusionProof: receipt.inclusionProof.map((h) => h.toString('base64')) } : {}),
  };
}

export const ingestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.post(
    '/projects/:projectId/events',
    {
      bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
      config: { access: 'project:write', operation: 'PutEvents' },
      // The handler checks the body (naming each bad event) and the one query parameter; the
      // schemas are for the OpenAPI document, not for a second, slower validation pass.
      validatorCompiler: () => () => true,
      // Receipts are a plain shape; JSON.stringify beats a union serializer here.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        tags: ['ingest'],
        summary: 'Append events',
        params: ProjectParams,
        querystring: IngestQuery,
        body: IngestBody,
        response: {
          200: Type.Union([Receipt, DroppedReceiptSchema, Type.Array(Type.Union([Receipt, DroppedReceiptSchema]))]),
          201: Type.Union([Receipt, Type.Array(Type.Union([Receipt, DroppedReceiptSchema]))]),
          400: ErrorBody,
          409: ErrorBody,
          413: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const projectId = request.project!.id;
      const body: unknown = request.body;
      const query = request.query as { wait?: string };
      if (query.wait !== undefined && query.wait !== 'checkpoint') throw new VT_ERR_VALIDATION('wait may only be "checkpoint"');
      let events: unknown[];
      let single = false;
      if (body instanceof NdjsonBody) events = body.events;
      else if (Array.isArray(body)) events = body;
      else if (typeof body === 'object' && body !== null) {
        events = [body];
        single = true;
      } else throw new VT_ERR_BODY_NOT_EVENTS();
      if (events.length === 0) throw new VT_ERR_BODY_NOT_EVENTS();

      const receipts = await node.ingest(projectId, events, { waitForCheckpoint: query.wait === 'checkpoint' });
      // 201 when something was appended; 200 when nothing was (a duplicate, or dropped by the
      // project's audit configuration).
      const created = receipts.some((r) => !('recorded' in r) && !r.duplicate);
      if (single) return reply.code(created ? 201 : 200).send(receiptView(receipts[0]!));
      return reply.code(created ? 201 : 200).send(receipts.map(receiptView));
    },
  );
};
