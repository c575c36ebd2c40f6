/**
 * Body parsing for the native API: JSON and NDJSON only (anything else is 415). Plain
 * JSON.parse keeps a member named "__proto__" as data, which is what an audit log must do with
 * whatever it is sent; nothing downstream merges client objects into others.
 */
import type { FastifyInstance } from 'fastify';
import { VT_ERR_BATCH_INVALID, VT_ERR_BODY_NOT_JSON, withDetails, type ErrorDetail } from '../../core/errors.ts';

/** An NDJSON body: one event per non-blank line. */
export class NdjsonBody {
  constructor(readonly events: unknown[]) {}
}

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
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_request, body, done) => {
    const events: unknown[] = [];
    const problems: ErrorDetail[] = [];
    (body as string).split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        events.push(JSON.parse(line));
      } catch (error) {
        problems.push({ field: `line ${i + 1}`, problem: `is not JSON: ${(error as Error).message}` });
      }
    });
    if (problems.length > 0) return done(withDetails(new VT_ERR_BATCH_INVALID(problems.length), problems));
    done(null, new NdjsonBody(events));
  });
}
