/** Liveness and readiness (spec/api.md "Operations"). */
import type { FastifyPluginAsync } from 'fastify';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { access: 'public', operation: 'GetHealth' }, schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { config: { access: 'public', operation: 'GetReadiness' }, schema: { tags: ['operations'], summary: 'The store answers and its migrations are done' } },
    async (_request, reply) => {
      try {
        await app.veritrail.store.ping();
        return { status: 'ready' };
      } catch (error) {
        return reply.code(503).send({ error: 'UNAVAILABLE', message: `the store is not reachable: ${(error as Error).message}` });
      }
    },
  );
};
