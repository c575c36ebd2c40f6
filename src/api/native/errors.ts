/** The native error body of spec/api.md: `{"error", "message", "details"?}`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { nativeCodeFor, type VeritrailError } from '../../core/errors.ts';
import { failureOf } from '../errors.ts';

export function nativeErrorBody(error: VeritrailError): { error: string; message: string; details?: unknown } {
  return {
    error: nativeCodeFor(error.statusCode),
    message: error.message,
    ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
  };
}

/** The error handler of the native API (and the app's default for unmatched routes). */
export function nativeErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = failureOf(error, request);
  void reply
    .code(mapped.statusCode)
    .headers(mapped.headers ?? {})
    .type('application/json; charset=utf-8')
    .send(nativeErrorBody(mapped));
}
