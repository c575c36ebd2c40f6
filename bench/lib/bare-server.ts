/**
 * The HTTP baseline: Fastify with one route that answers 201 `{}` and does no work, in a
 * process of its own like `veritrail serve`. It takes the same path and bodies as Veritrail's
 * ingest route; Fastify's default JSON body parser still reads and parses each body, because
 * any server that accepts the event must.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/v1/projects/:projectId/events', async (_request, reply) => reply.code(201).send({}));
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`Bare Fastify is listening on ${address}\n`);
