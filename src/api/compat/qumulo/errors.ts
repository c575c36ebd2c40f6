/** Qumulo error bodies (qumulo.md §3): `{"error_class": "<snake_case>", "description": "<text>"}`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { validationError, VeritrailError } from '../../../core/errors.ts';
import { jsonErrorHandler } from '../../errors.ts';
import { qumuloProblems } from './translate.ts';

const CLASS_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'auth_error',
  403: 'privilege_error',
  404: 'http_not_found_error',
  412: 'http_precondition_failed_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'http_too_many_requests_error',
  503: 'service_unavailable_error',
};

export function qumuloErrorBody(error: VeritrailError): { error_class: string; description: string } {
  const details = error.details && error.details.length > 0 ? ` (${error.details.map((d) => `${d.field}: ${d.problem}`).join('; ')})` : '';
  return { error_class: CLASS_BY_STATUS[error.statusCode] ?? (error.statusCode >= 500 ? 'internal_error' : 'invalid_request_error'), description: error.message + details };
}

const answer = jsonErrorHandler(qumuloErrorBody);

/**
 * Answers in Qumulo's body. A destination's validation problems name its fields, which Qumulo
 * clients know by Qumulo's names: renamed before the failure is noted, so self-audit shows the
 * names the client sent.
 */
export function qumuloErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const inQumuloTerms = error instanceof VeritrailError && error.code === 'VT_ERR_VALIDATION' && error.details ? validationError(qumuloProblems(error.details)) : error;
  answer(inQumuloTerms, request, reply);
}
