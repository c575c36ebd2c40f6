/**
 * Veritrail error codes as Atlas `ApiError` bodies (spec/atlas.md §3.2 and §6): keys in
 * alphabetical order, `X-Error-Code`, `application/json`, and the Digest challenge on every
 * authentication failure.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode, VeritrailError } from '../../../core/errors.ts';
import { failureOf } from '../../errors.ts';
import { queryFlag, renderAtlas } from './translate.ts';

interface AtlasErrorShape {
  status: number;
  errorCode: string;
  /** The detail sentence; `%s` takes the first parameter. */
  detail: string;
  /** Which request value fills `parameters`: the group id, or the error's first detail field. */
  parameter?: 'groupId' | 'field';
}

/** Authentication failures (not authorisation): their 401 carries a new Digest challenge. */
const UNAUTHORIZED: AtlasErrorShape = { status: 401, errorCode: 'UNEXPECTED_ERROR', detail: 'You are not authorized for this resource.' };

/** The §6 table. Codes not named here fall back by status (FALLBACK). */
const ATLAS_ERRORS: Partial<Record<ErrorCode, AtlasErrorShape>> = {
  VT_ERR_AUTH_MISSING: UNAUTHORIZED,
  VT_ERR_AUTH_INVALID: UNAUTHORIZED,
  VT_ERR_AUTH_NONCE_STALE: UNAUTHORIZED,
  VT_ERR_AUTH_TOKEN_EXPIRED: UNAUTHORIZED,
  VT_ERR_NOT_ACCEPTABLE: { status: 406, errorCode: 'INVALID_VERSION_DATE', detail: 'Invalid accept header or version date.' },
  VT_ERR_PROJECT_ID_MALFORMED: { status: 404, errorCode: 'INVALID_GROUP_ID', detail: 'An invalid group ID %s was specified.', parameter: 'groupId' },
  VT_ERR_PROJECT_NOT_FOUND: { status: 404, errorCode: 'GROUP_NOT_FOUND', detail: 'No group with ID %s exists.', parameter: 'groupId' },
  VT_ERR_FORBIDDEN_PROJECT: { status: 401, errorCode: 'USER_CANNOT_ACCESS_GROUP', detail: 'User cannot access this group.' },
  VT_ERR_FORBIDDEN_ROLE: { status: 401, errorCode: 'USER_UNAUTHORIZED', detail: 'Current user is not authorized to perform this action.' },
  VT_ERR_BODY_NOT_JSON: { status: 400, errorCode: 'MALFORMED_JSON', detail: 'Received JSON is malformed.' },
  VT_ERR_VALIDATION: { status: 400, errorCode: 'INVALID_JSON', detail: 'Received JSON does not match expected format.' },
  VT_ERR_BODY_FIELD_UNKNOWN: { status: 400, errorCode: 'INVALID_ATTRIBUTE', detail: 'Invalid attribute %s specified.', parameter: 'field' },
  VT_ERR_AUDIT_FILTER_INVALID: { status: 400, errorCode: 'INVALID_JSON_ATTRIBUTE', detail: 'Invalid JSON attribute %s specified.', parameter: 'field' },
  VT_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, errorCode: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported media type.' },
  VT_ERR_BODY_TOO_LARGE: { status: 413, errorCode: 'PAYLOAD_TOO_LARGE', detail: 'The request body is too large.' },
  VT_ERR_METHOD_NOT_ALLOWED: { status: 405, errorCode: 'METHOD_NOT_ALLOWED', detail: 'Method not allowed.' },
  VT_ERR_ROUTE_NOT_FOUND: { status: 404, errorCode: 'RESOURCE_NOT_FOUND', detail: 'Cannot find resource %s.', parameter: 'field' },
  VT_ERR_RATE_LIMITED: { status: 429, errorCode: 'RATE_LIMITED_TOKEN_BUCKET', detail: 'Rate limit exceeded.' },
};

function fallback(status: number): AtlasErrorShape {
  if (status >= 500) return { status, errorCode: status === 503 ? 'SERVICE_UNAVAILABLE' : 'UNEXPECTED_ERROR', detail: 'Unexpected error.' };
  return { status, errorCode: 'INVALID_QUERY_PARAMETER', detail: 'Bad request.' };
}

/** The ApiError body, keys sorted; `badRequestDetail` only for a field-level problem. */
function apiError(error: VeritrailError, request: FastifyRequest): { shape: AtlasErrorShape; body: Record<string, unknown> } {
  const shape = ATLAS_ERRORS[error.code] ?? fallback(error.statusCode);
  const value =
    shape.parameter === 'groupId'
      ? String((request.params as { groupId?: unknown } | undefined)?.groupId ?? '')
      : shape.parameter === 'field'
        ? (error.details?.[0]?.field ?? request.url.split('?')[0]!)
        : undefined;
  const body: Record<string, unknown> = {
    ...(error.code === 'VT_ERR_AUDIT_FILTER_INVALID' && error.details
      ? { badRequestDetail: { fields: error.details.map((d) => ({ description: d.problem, field: d.field })) } }
      : {}),
    detail: value === undefined ? shape.detail : shape.detail.replace('%s', value),
    error: shape.status,
    errorCode: shape.errorCode,
    // The recorded 401 body has no `parameters`; every other error carries the list.
    ...(shape === UNAUTHORIZED ? {} : { parameters: value === undefined ? [] : [value] }),
    reason: STATUS_CODES[shape.status] ?? 'Error',
  };
  return { shape, body };
}

/** The Atlas plugin's error handler (also used by its not-found handler). */
export function atlasErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const mapped = failureOf(error, request);
  const { shape, body } = apiError(mapped, request);
  const query = request.query as { pretty?: unknown; envelope?: unknown } | undefined;
  if (shape === UNAUTHORIZED) {
    // Go's digest client reads only the first WWW-Authenticate header: the Digest one is it.
    void reply.header('www-authenticate', request.server.veritrail.digest.challenge(mapped.code === 'VT_ERR_AUTH_NONCE_STALE'));
  }
  void reply
    .code(shape.status)
    .headers(mapped.headers ?? {})
    .header('x-error-code', shape.errorCode)
    .type('application/json')
    .send(renderAtlas(body, shape.status, { pretty: queryFlag(query?.pretty), envelope: queryFlag(query?.envelope) }));
}
