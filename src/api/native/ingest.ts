/**
 * Ingest (spec/api.md "Ingest"): one object, a JSON array, or NDJSON. 201 once something was
 * durably sequenced; 200 when nothing was (every event a duplicate, or dropped by the project's
 * audit configuration).
 *
 * This route reads its body raw: the preparer parses it (in a worker thread when it is large,
 * applying the audit policy there), so the main thread never parses a batch it hands off anyway.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isoTime } from '../../core/clock.ts';
import { VT_ERR_STORE_BUSY, VT_ERR_VALIDATION } from '../../core/errors.ts';
import { ByteBudget } from '../../log/byte-budget.ts';
import type { AppendReceipt } from '../../log/appender.ts';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_INGEST_INFLIGHT_BYTES } from '../node-config.ts';
import type { DroppedReceipt } from '../node.ts';
import { DroppedReceipt as DroppedReceiptSchema, ErrorBody, IngestBody, IngestQuery, ProjectParams, Receipt } from './schemas.ts';

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

const NDJSON = 'application/x-ndjson';

declare module 'fastify' {
  interface FastifyRequest {
    /** Body bytes this request holds in the ingest admission budget. */
    admittedBytes?: number;
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;
  const budget = new ByteBudget(node.config.ingestInflightBytes ?? DEFAULT_INGEST_INFLIGHT_BYTES);
  const release = async (request: { admittedBytes?: number }) => {
    if (request.admittedBytes) budget.release(request.admittedBytes);
    request.admittedBytes = 0;
  };
  // Admission runs before the body is read: a body that does not fit is never buffered.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isFinite(declared) && declared > 0 ? Math.min(declared, DEFAULT_BODY_LIMIT_BYTES) : DEFAULT_BODY_LIMIT_BYTES;
    if (!budget.tryReserve(bytes)) throw new VT_ERR_STORE_BUSY(1);
    request.admittedBytes = bytes;
    return payload;
  });
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);

  app.post(
    '/projects/:projectId/events',
    {
      bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
      config: { access: 'project:write', operation: 'PutEvents', audit: 'ingest' },
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
      const query = request.query as { wait?: string };
      if (query.wait !== undefined && query.wait !== 'checkpoint') throw new VT_ERR_VALIDATION('wait may only be "checkpoint"');
      const kind = String(request.headers['content-type']).toLowerCase().startsWith(NDJSON) ? 'ndjson' : 'json';
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const { single, items } = await node.preparer.prepareBody(projectId, body, kind, isoTime(node.clock.now()));
      const receipts = await node.ingest(projectId, items, { waitForCheckpoint: query.wait === 'checkpoint' });
      // 201 when something was appended; 200 when nothing was (a duplicate, or dropped by the
      // project's audit configuration).
      const created = receipts.some((r) => !('recorded' in r) && !r.duplicate);
      if (single) return reply.code(created ? 201 : 200).send(receiptView(receipts[0]!));
      return reply.code(created ? 201 : 200).send(receipts.map(receiptView));
    },
  );
};

/** The ingest route in its own scope, whose body parsers hand over raw bytes. */
export const ingestRoutes: FastifyPluginAsync = async (app) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', NDJSON], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(routes);
};
