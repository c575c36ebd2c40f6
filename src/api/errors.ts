/**
 * Turns whatever a route threw into a catalogued error, once for every dialect; each dialect
 * then writes it in its own body format. Framework errors (body limits, media types, schema
 * validation) become 4xx here, so bad input never surfaces as a 5xx.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  FatalError,
  VeritrailError,
  VT_ERR_BODY_NOT_JSON,
  VT_ERR_BODY_TOO_LARGE,
  VT_ERR_INTERNAL,
  VT_ERR_LOG_UNAVAILABLE,
  VT_ERR_STORE_UNAVAILABLE,
  VT_ERR_UNSUPPORTED_MEDIA_TYPE,
  VT_ERR_VALIDATION,
  validationError,
} from '../core/errors.ts';
import { StoreUnavailableError } from '../store/store.ts';

/** How long a caller is asked to wait when the store could not be reached. */
const STORE_RETRY_AFTER_SECONDS = 1;

export function toVeritrailError(error: unknown, request: FastifyRequest): VeritrailError {
  if (error instanceof VeritrailError) return error;
  if (error instanceof FatalError) return new VT_ERR_LOG_UNAVAILABLE(error.message);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      field: `${fastifyError.validationContext ?? 'request'}${v.instancePath.replace(/\//g, '.')}`,
      // ajv names an unknown member only in params; the caller needs to know which one.
      problem: `${v.message ?? 'is not valid'}${typeof v.params?.additionalProperty === 'string' ? `: ${v.params.additionalProperty}` : ''}`,
    }));
    return validationError(details);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new VT_ERR_BODY_TOO_LARGE(request.routeOptions.bodyLimit ?? 'the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new VT_ERR_UNSUPPORTED_MEDIA_TYPE(JSON.stringify(request.headers['content-type'] ?? '(none)'));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new VT_ERR_BODY_NOT_JSON('the body is empty');
  }
  if (error instanceof SyntaxError) return new VT_ERR_BODY_NOT_JSON(error.message);
  // The database restarting or failing over: transient, so 503 with Retry-After, not a 500.
  if (error instanceof StoreUnavailableError) return new VT_ERR_STORE_UNAVAILABLE(STORE_RETRY_AFTER_SECONDS);
  // Any other framework 4xx (a malformed URL, a bad Content-Length) keeps its status.
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return Object.assign(new VT_ERR_VALIDATION(fastifyError.message ?? 'bad request'), { statusCode: status });
  }
  return new VT_ERR_INTERNAL(request.id);
}

/**
 * What every dialect's error handler does first: map the error, note it on the request for
 * self-audit (`request.failure`), and log it (5xx as errors, with the cause).
 */
export function failureOf(error: unknown, request: FastifyRequest): VeritrailError {
  const mapped = toVeritrailError(error, request);
  request.failure = { code: mapped.code, message: mapped.message };
  // A refusal is logged by its code only: its message may quote the request (a body the JSON
  // parser could not read, a malformed id), and the log never holds what clients send.
  if (mapped.statusCode >= 500) request.log.error({ err: error, code: mapped.code }, 'request failed');
  else request.log.info({ code: mapped.code }, 'request refused');
  return mapped;
}

/** The error handler of a dialect whose error body is JSON made from the catalogued error alone. */
export function jsonErrorHandler(bodyOf: (error: VeritrailError) => unknown): (error: unknown, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const mapped = failureOf(error, request);
    void reply
      .code(mapped.statusCode)
      .headers(mapped.headers ?? {})
      .type('application/json; charset=utf-8')
      .send(bodyOf(mapped));
  };
}
