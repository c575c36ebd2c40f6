/**
 * Destinations (README "Destinations"): where a project's events are forwarded. Reads carry an
 * ETag (the destination's version); PATCH and DELETE honour If-Match with 412 on a mismatch.
 * Secrets are write-only: a read shows "<set>" where one is stored.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomBytes } from 'node:crypto';
import { Type, type Static } from 'typebox';
import { VT_ERR_DESTINATION_NOT_FOUND, validationError, type ErrorDetail } from '../../core/errors.ts';
import { SECRET_MEMBERS } from '../../forward/destination.ts';
import { inputProblems, newDestination, patchDestination, splitSecrets, type DestinationInput } from '../../forward/destination-input.ts';
import type { StoredDestination } from '../../forward/destination-service.ts';
import { etag, ifMatch } from '../etag.ts';
import {
  CreateDestinationBody,
  DestinationList,
  DestinationParams,
  DestinationStatusView,
  DestinationView,
  ErrorBody,
  PatchDestinationBody,
  ProjectParams,
} from './schemas.ts';

/** A destination as the API shows it: no `deleted` marker, secrets as "<set>". */
export function destinationView(stored: StoredDestination) {
  const { deleted: _deleted, ...fields } = stored.destination;
  const view: Record<string, unknown> = { id: stored.id, version: stored.version, updatedAt: stored.updatedAt, ...fields };
  for (const member of SECRET_MEMBERS[stored.destination.kind]) if (view[member] !== undefined) view[member] = '<set>';
  return view as unknown as Static<typeof DestinationView>;
}

function refuse(problems: ErrorDetail[]): void {
  if (problems.length > 0) throw validationError(problems);
}

const sendStored = (reply: FastifyReply, stored: StoredDestination, code = 200) => reply.code(code).header('etag', etag(stored.version)).send(destinationView(stored));

export const destinationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const node = app.veritrail;
  const service = node.destinations;
  const live = async (projectId: string, id: string) => {
    const current = await service.get(projectId, id);
    if (!current.destination) throw new VT_ERR_DESTINATION_NOT_FOUND(JSON.stringify(id), projectId);
    return { id, version: current.version, updatedAt: current.updatedAt, destination: current.destination };
  };

  app.get(
    '/projects/:projectId/destinations',
    { config: { access: 'project:read', operation: 'ListDestinations', audit: 'read' }, schema: { tags: ['destinations'], summary: 'List destinations', params: ProjectParams, response: { 200: DestinationList } } },
    async (request) => ({ results: (await service.list(request.project!.id)).map(destinationView) }),
  );

  app.post(
    '/projects/:projectId/destinations',
    {
      config: { access: 'project:admin', operation: 'CreateDestination', audit: 'change' },
      schema: { tags: ['destinations'], summary: 'Create a destination', params: ProjectParams, body: CreateDestinationBody, response: { 201: DestinationView, 400: ErrorBody } },
    },
    async (request, reply) => {
      const { kind, ...input } = request.body;
      refuse(inputProblems(kind, input as DestinationInput, true));
      const { fields, secrets } = splitSecrets(kind, input as DestinationInput);
      const id = randomBytes(12).toString('hex');
      const stored = await service.write(request.project!.id, id, () => newDestination(kind, fields), { secrets, ifMatch: { matches: (version) => version === 0, header: 'absent (a new destination)' } });
      return sendStored(reply, stored, 201);
    },
  );

  app.get(
    '/projects/:projectId/destinations/:destinationId',
    { config: { access: 'project:read', operation: 'GetDestination', audit: 'read' }, schema: { tags: ['destinations'], summary: 'Read a destination (with its ETag)', params: DestinationParams, response: { 200: DestinationView, 404: ErrorBody } } },
    async (request, reply) => sendStored(reply, await live(request.project!.id, request.params.destinationId)),
  );

  app.patch(
    '/projects/:projectId/destinations/:destinationId',
    {
      config: { access: 'project:admin', operation: 'UpdateDestination', audit: 'change' },
      schema: {
        tags: ['destinations'],
        summary: 'Change some fields of a destination (If-Match: its ETag, optional)',
        params: DestinationParams,
        body: PatchDestinationBody,
        response: { 200: DestinationView, 400: ErrorBody, 404: ErrorBody, 412: ErrorBody },
      },
    },
    async (request, reply) => {
      const projectId = request.project!.id;
      const { destination } = await live(projectId, request.params.destinationId);
      const input = request.body as DestinationInput;
      refuse(inputProblems(destination.kind, input, false));
      const { fields, secrets } = splitSecrets(destination.kind, input);
      const stored = await service.update(projectId, request.params.destinationId, (current) => patchDestination(current, fields), { secrets, ifMatch: ifMatch(request.headers['if-match']) });
      return sendStored(reply, stored);
    },
  );

  app.delete(
    '/projects/:projectId/destinations/:destinationId',
    {
      config: { access: 'project:admin', operation: 'DeleteDestination', audit: 'change' },
      schema: { tags: ['destinations'], summary: 'Delete a destination; delivery stops', params: DestinationParams, response: { 204: Type.Null(), 404: ErrorBody, 412: ErrorBody } },
    },
    async (request, reply) => {
      await service.remove(request.project!.id, request.params.destinationId, { ifMatch: ifMatch(request.headers['if-match']) });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/projects/:projectId/destinations/:destinationId/status',
    {
      config: { access: 'project:read', operation: 'GetDestinationStatus', audit: 'read' },
      schema: { tags: ['destinations'], summary: 'Delivery state, last error, last delivered index and lag', params: DestinationParams, response: { 200: DestinationStatusView, 404: ErrorBody } },
    },
    async (request) => {
      const { id, destination } = await live(request.project!.id, request.params.destinationId);
      const status = await node.forwarder.status(request.project!.id, id);
      if (!status) throw new VT_ERR_DESTINATION_NOT_FOUND(JSON.stringify(id), request.project!.id);
      return { id, kind: destination.kind, enabled: destination.enabled, ...status };
    },
  );
};
