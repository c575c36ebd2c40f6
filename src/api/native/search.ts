/**
 * Reading events (spec/api.md "Reading events"): search, and one event by id with an optional
 * inclusion proof. Results are written around the stored envelope bytes (log/export-format.ts
 * `entryJson`), so a page of 1,000 events is never parsed and re-serialised.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { VT_ERR_EVENT_NOT_FOUND } from '../../core/errors.ts';
import { entryJson } from '../../log/export-format.ts';
import { leafHash } from '../../log/hashing.ts';
import { searchEvents } from '../../query/search.ts';
import { ErrorBody, EventParams, EventWithProof, GetEventQuerystring, ProjectParams, SearchQuerystring, SearchResults } from './schemas.ts';

/**
 * Sends JSON text built from stored bytes. The response schemas above describe it for the
 * OpenAPI document; the typed reply cannot see that the bytes have that shape.
 */
function sendJson(reply: FastifyReply, body: Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}

export const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.get(
    '/projects/:projectId/events',
    {
      config: { access: 'project:read', operation: 'SearchEvents', audit: 'read' },
      schema: {
        tags: ['events'],
        summary: 'Search events: newest first, by indexed fields, full text and a MongoDB filter, with cursor pagination',
        params: ProjectParams,
        querystring: SearchQuerystring,
        response: { 200: SearchResults, 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const page = await searchEvents(node.store, node.searchIndexer, request.project!.id, request.query);
      // How many committed events this search could not see yet (the indexer's lag).
      if (page.lag !== undefined) void reply.header('x-veritrail-search-lag', String(page.lag));
      const results = page.hits.map((hit) => entryJson(hit.index, leafHash(hit.envelope), hit.envelope));
      const body = Buffer.concat([
        Buffer.from('{"results":['),
        ...results.flatMap((result, i) => (i === 0 ? [result] : [COMMA, result])),
        Buffer.from(`],"next":${JSON.stringify(page.next)}}`),
      ]);
      return sendJson(reply, body);
    },
  );

  app.get(
    '/projects/:projectId/events/:eventId',
    {
      config: { access: 'project:read', operation: 'GetEvent', audit: 'read' },
      schema: {
        tags: ['events'],
        summary: 'One event by id; with proof=true, its inclusion proof against the latest checkpoint',
        params: EventParams,
        querystring: GetEventQuerystring,
        response: { 200: EventWithProof, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const projectId = request.project!.id;
      const { eventId } = request.params;
      const found = (await node.store.findByEventIds(projectId, [eventId])).get(eventId);
      if (!found) throw new VT_ERR_EVENT_NOT_FOUND(eventId, projectId);
      const result = entryJson(found.index, leafHash(found.envelope), found.envelope);
      if (!request.query.proof) return sendJson(reply, result);
      // The latest checkpoint, once one covers the event (at most a checkpoint interval away).
      const checkpoint = await node.checkpointer.waitFor(projectId, found.index + 1);
      const hashes = await node.reader.inclusionProof(projectId, found.index, checkpoint.treeSize);
      const proof = { treeSize: checkpoint.treeSize, hashes: hashes.map((h) => h.toString('base64')), checkpoint: checkpoint.note };
      return sendJson(reply, Buffer.concat([result.subarray(0, result.length - 1), Buffer.from(`,"proof":${JSON.stringify(proof)}}`)]));
    },
  );
};

const COMMA = Buffer.from(',');
