/**
 * Body parsing for a scope whose bodies are JSON (native and Atlas; anything else is 415). An
 * empty body parses to `undefined`, for the route to refuse or accept; text that is not JSON is
 * VT_ERR_BODY_NOT_JSON. Plain JSON.parse keeps a member named "__proto__" as data, which is what
 * an audit log must do with whatever it is sent; nothing downstream merges client objects.
 */
import type { FastifyInstance } from 'fastify';
import { VT_ERR_BODY_NOT_JSON } from '../core/errors.ts';

/** Replaces the scope's parsers with the JSON parser, for each of `contentTypes`. */
export function registerJsonBodyParsers(app: FastifyInstance, contentTypes: Array<string | RegExp>): void {
  app.removeAllContentTypeParsers();
  for (const contentType of contentTypes) {
    app.addContentTypeParser(contentType, { parseAs: 'string' }, (_request, body, done) => {
      const text = body as string;
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        done(new VT_ERR_BODY_NOT_JSON((error as Error).message));
      }
    });
  }
}
