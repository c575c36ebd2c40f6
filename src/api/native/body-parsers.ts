/**
 * Body parsing for the native API's JSON bodies (anything else is 415; ingest, in its own scope,
 * reads JSON and NDJSON raw). Plain JSON.parse keeps a member named "__proto__" as data, which is
 * what an audit log must do with whatever it is sent; nothing downstream merges client objects.
 */
import type { FastifyInstance } from 'fastify';
import { VT_ERR_BODY_NOT_JSON } from '../../core/errors.ts';

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new VT_ERR_BODY_NOT_JSON((error as Error).message));
    }
  });
}
