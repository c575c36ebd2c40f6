/**
 * The log (spec/api.md "The log"): the verifier key, checkpoints, proofs and tlog-tiles.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  VT_ERR_ENTRY_TOO_LARGE_FOR_BUNDLE,
  VT_ERR_EVENT_NOT_FOUND,
  VT_ERR_INDEX_OUT_OF_RANGE,
  VT_ERR_PROOF_RANGE,
  VT_ERR_TILE_NOT_FOUND,
  VT_ERR_TREE_SIZE_TOO_LARGE,
  VT_ERR_VALIDATION,
} from '../../core/errors.ts';
import { HASH_SIZE } from '../../log/hashing.ts';
import { parseTilePath, TILE_WIDTH, tileWidthAt } from '../../log/tiles.ts';
import { ConsistencyProof, ConsistencyQuery, ErrorBody, InclusionProof, InclusionQuery, LogKey, ProjectParams } from './schemas.ts';

/** tlog-tiles bundles prefix each entry with a uint16 length (spec/tlog.md §5.3). */
const BUNDLE_MAX_ENTRY = 0xffff;

export const logRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;

  app.get(
    '/log/key',
    { config: { access: 'public', operation: 'GetLogKey' }, schema: { tags: ['log'], summary: 'The checkpoint verifier key (C2SP signed-note form)', response: { 200: LogKey } } },
    async () => ({ name: node.signer.name, vkey: node.signer.text }),
  );

  app.get(
    '/projects/:projectId/log/checkpoint',
    {
      config: { access: 'project:read', operation: 'GetCheckpoint' },
      schema: { tags: ['log'], summary: 'The latest signed checkpoint (text/plain)', params: ProjectParams, produces: ['text/plain'] },
    },
    async (request, reply) => {
      const checkpoint = await node.checkpointer.waitFor(request.project!.id, 0);
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache, max-age=1').send(checkpoint.note);
    },
  );

  app.get(
    '/projects/:projectId/log/proof/inclusion',
    {
      config: { access: 'project:read', operation: 'GetInclusionProof' },
      schema: {
        tags: ['log'],
        summary: 'Inclusion proof of one entry (by index or eventId) in a tree size (default: the latest checkpoint)',
        params: ProjectParams,
        querystring: InclusionQuery,
        response: { 200: InclusionProof, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const projectId = request.project!.id;
      const { eventId } = request.query;
      let { index } = request.query;
      if ((index === undefined) === (eventId === undefined)) throw new VT_ERR_VALIDATION('give exactly one of index and eventId');
      const treeSize = request.query.treeSize ?? (await node.checkpointer.waitFor(projectId, 0)).treeSize;
      const current = await node.store.treeSize(projectId);
      if (treeSize > current) throw new VT_ERR_TREE_SIZE_TOO_LARGE(treeSize, current);
      if (eventId !== undefined) {
        const found = (await node.store.findByEventIds(projectId, [eventId])).get(eventId);
        if (!found) throw new VT_ERR_EVENT_NOT_FOUND(eventId, projectId);
        index = found.index;
      }
      if (index! >= treeSize) throw new VT_ERR_INDEX_OUT_OF_RANGE(index!, treeSize);
      const [leaf] = await node.reader.leafHashes(projectId, index!, index! + 1, treeSize);
      const hashes = await node.reader.inclusionProof(projectId, index!, treeSize);
      return { index: index!, treeSize, leafHash: leaf!.toString('hex'), hashes: hashes.map((h) => h.toString('base64')) };
    },
  );

  app.get(
    '/projects/:projectId/log/proof/consistency',
    {
      config: { access: 'project:read', operation: 'GetConsistencyProof' },
      schema: {
        tags: ['log'],
        summary: 'Consistency proof between two tree sizes (to defaults to the latest checkpoint)',
        params: ProjectParams,
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProof, 400: ErrorBody },
      },
    },
    async (request) => {
      const projectId = request.project!.id;
      const from = request.query.from;
      const to = request.query.to ?? (await node.checkpointer.waitFor(projectId, 0)).treeSize;
      if (from > to) throw new VT_ERR_PROOF_RANGE(from, to);
      const current = await node.store.treeSize(projectId);
      if (to > current) throw new VT_ERR_TREE_SIZE_TOO_LARGE(to, current);
      const hashes = await node.reader.consistencyProof(projectId, from, to);
      return { from, to, hashes: hashes.map((h) => h.toString('base64')) };
    },
  );

  // tlog-tiles (spec/tlog.md §5) and the wide-entry bundle form tlog-tiles allows at another URL.
  for (const route of ['tile', 'entries-v2'] as const) {
    app.get(
      `/projects/:projectId/log/${route}/*`,
      {
        config: { access: 'project:read', operation: route === 'tile' ? 'GetTile' : 'GetEntryBundle' },
        schema: {
          tags: ['log'],
          summary:
            route === 'tile'
              ? 'C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>]'
              : 'Entry bundles with uint32 lengths, for bundles holding an entry over 65,535 bytes',
          params: Type.Object({ projectId: Type.String(), '*': Type.String() }),
          produces: ['application/octet-stream'],
        },
      },
      async (request, reply) => {
        const projectId = request.project!.id;
        const raw = (request.params as { '*': string })['*'];
        const parsed = parseTilePath(route === 'tile' ? raw : `entries/${raw}`);
        if (!parsed || (route === 'entries-v2' && parsed.kind !== 'entries')) throw new VT_ERR_TILE_NOT_FOUND(JSON.stringify(raw));
        const size = await node.store.treeSize(projectId);
        const level = parsed.kind === 'hashes' ? parsed.level : 0;
        const available = tileWidthAt(level, parsed.index, size);
        const width = parsed.width ?? TILE_WIDTH;
        // A full tile exists once full; a partial one of width W while at least W hashes exist.
        if (available < width) throw new VT_ERR_TILE_NOT_FOUND(JSON.stringify(raw));
        let body: Buffer;
        if (parsed.kind === 'hashes') {
          const [tile] = await node.store.readTiles(projectId, [{ level, index: parsed.index }]);
          body = tile!.subarray(0, width * HASH_SIZE);
        } else {
          const start = parsed.index * TILE_WIDTH;
          const entries = await node.store.readEntries(projectId, start, start + width);
          if (entries.length !== width) throw new VT_ERR_TILE_NOT_FOUND(JSON.stringify(raw));
          const wide = route === 'entries-v2';
          if (!wide && entries.some((e) => e.envelope.length > BUNDLE_MAX_ENTRY)) throw new VT_ERR_ENTRY_TOO_LARGE_FOR_BUNDLE(parsed.index, raw);
          body = Buffer.concat(
            entries.flatMap((e) => {
              const length = Buffer.alloc(wide ? 4 : 2);
              if (wide) length.writeUInt32BE(e.envelope.length);
              else length.writeUInt16BE(e.envelope.length);
              return [length, e.envelope];
            }),
          );
        }
        return reply.type('application/octet-stream').header('cache-control', 'public, max-age=31536000, immutable').send(body);
      },
    );
  }
};
