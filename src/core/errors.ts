/**
 * Every error a caller can see, as coded constructors in the manner of Fastify's catalogue:
 * `throw new VT_ERR_PROJECT_NOT_FOUND(id)`. Each code has one HTTP status and one message
 * template; dialects map the code to their own error body (spec/api.md for the native one).
 * docs/errors.md lists every code, and test/core/errors.test.ts keeps the two in step.
 *
 * Three kinds stay apart (STYLE.md §8): per-request errors (4xx, these), pushback (the errors
 * defined with `retryAfter`, such as `VT_ERR_STORE_BUSY`: 503 or 429 with Retry-After; the caller
 * should retry) and fatal errors (`FatalError`: the sequencer stops and the log reloads from
 * durable state; never shown to a caller beyond a 503).
 */

/** The `error` field of the native error body (spec/api.md "Conventions"). */
export type NativeErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'INTERNAL'
  | 'UNAVAILABLE';

const NATIVE_BY_STATUS: Record<number, NativeErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'BAD_REQUEST',
  406: 'BAD_REQUEST',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** The native code for an HTTP status. */
export function nativeCodeFor(statusCode: number): NativeErrorCode {
  return NATIVE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
}

/** One problem with one field of a request, as in the native error body's `details`. */
export interface ErrorDetail {
  field: string;
  problem: string;
}

/** Base class of every catalogued error. */
export class VeritrailError extends Error {
  /** Extra response headers, such as Retry-After on pushback. */
  headers?: Record<string, string>;
  constructor(
    readonly code: ErrorCode,
    readonly statusCode: number,
    message: string,
    readonly details?: ErrorDetail[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = code;
  }
}

type ErrorArgs = Array<string | number>;
export interface ErrorConstructor {
  new (...args: ErrorArgs): VeritrailError;
  readonly code: string;
  readonly statusCode: number;
  readonly template: string;
}

interface ErrorOptions {
  /**
   * Pushback: the error's one argument is the seconds a caller should wait before retrying, and
   * is sent as Retry-After too (every dialect's error handler sends `headers`).
   */
  retryAfter?: boolean;
}

function defineError<const C extends string>(code: C, statusCode: number, template: string, options: ErrorOptions = {}) {
  return class extends VeritrailError {
    static readonly code = code;
    static readonly statusCode = statusCode;
    static readonly template = template;
    constructor(...args: ErrorArgs) {
      super(code as unknown as ErrorCode, statusCode, format(template, args));
      if (options.retryAfter) this.headers = { 'retry-after': String(args[0]) };
    }
  };
}

/** Fills `%s` placeholders in order, like util.format but without its inspection surprises. */
function format(template: string, args: ErrorArgs): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ''));
}

// --- request shape -------------------------------------------------------------------------
export const VT_ERR_VALIDATION = defineError('VT_ERR_VALIDATION', 400, 'The request is not valid: %s');
export const VT_ERR_BODY_NOT_JSON = defineError('VT_ERR_BODY_NOT_JSON', 400, 'The body is not valid JSON: %s');
export const VT_ERR_BODY_NOT_EVENTS = defineError(
  'VT_ERR_BODY_NOT_EVENTS',
  400,
  'The body must be a JSON object, a JSON array of objects, or NDJSON with one object per line',
);
export const VT_ERR_BATCH_INVALID = defineError('VT_ERR_BATCH_INVALID', 400, 'The batch was refused: %s of its events are not valid; nothing was appended');
export const VT_ERR_BATCH_TOO_MANY = defineError('VT_ERR_BATCH_TOO_MANY', 400, 'A batch holds at most %s events; this one holds %s');
export const VT_ERR_EVENT_TOO_LARGE = defineError('VT_ERR_EVENT_TOO_LARGE', 413, 'Event %s is %s bytes; an event may be at most %s bytes');
export const VT_ERR_BODY_TOO_LARGE = defineError('VT_ERR_BODY_TOO_LARGE', 413, 'The body is larger than %s bytes');
export const VT_ERR_UNSUPPORTED_MEDIA_TYPE = defineError(
  'VT_ERR_UNSUPPORTED_MEDIA_TYPE',
  415,
  'Content-Type %s is not accepted here; send application/json or application/x-ndjson',
);
export const VT_ERR_PROJECT_ID_MALFORMED = defineError('VT_ERR_PROJECT_ID_MALFORMED', 400, 'Project id %s is not 24 lowercase hex characters');
export const VT_ERR_ROUTE_NOT_FOUND = defineError('VT_ERR_ROUTE_NOT_FOUND', 404, 'There is no route %s %s');
export const VT_ERR_METHOD_NOT_ALLOWED = defineError('VT_ERR_METHOD_NOT_ALLOWED', 405, 'Method %s is not allowed on %s');
export const VT_ERR_NOT_ACCEPTABLE = defineError('VT_ERR_NOT_ACCEPTABLE', 406, 'Accept %s names no version of this resource; send %s');
export const VT_ERR_BODY_FIELD_UNKNOWN = defineError('VT_ERR_BODY_FIELD_UNKNOWN', 400, 'The body holds a field this resource does not have: %s');

// --- authentication and roles ---------------------------------------------------------------
export const VT_ERR_AUTH_MISSING = defineError('VT_ERR_AUTH_MISSING', 401, 'This request needs an Authorization: Bearer <key> header');
export const VT_ERR_AUTH_INVALID = defineError('VT_ERR_AUTH_INVALID', 401, 'The key is not known, or it was revoked');
export const VT_ERR_FORBIDDEN_ROLE = defineError('VT_ERR_FORBIDDEN_ROLE', 403, 'A %s key may not do this; it needs %s');
export const VT_ERR_FORBIDDEN_PROJECT = defineError('VT_ERR_FORBIDDEN_PROJECT', 403, 'This key belongs to another project');
export const VT_ERR_AUTH_NONCE_STALE = defineError('VT_ERR_AUTH_NONCE_STALE', 401, 'The digest nonce has expired; answer the new challenge');
export const VT_ERR_AUTH_TOKEN_EXPIRED = defineError('VT_ERR_AUTH_TOKEN_EXPIRED', 401, 'The access token has expired; request a new one');
export const VT_ERR_OAUTH_GRANT_UNSUPPORTED = defineError('VT_ERR_OAUTH_GRANT_UNSUPPORTED', 400, 'grant_type %s is not supported; use client_credentials');
export const VT_ERR_OAUTH_REQUEST_INVALID = defineError('VT_ERR_OAUTH_REQUEST_INVALID', 400, 'The token request is not valid: %s');
export const VT_ERR_OAUTH_CLIENT_INVALID = defineError(
  'VT_ERR_OAUTH_CLIENT_INVALID',
  401,
  'The client id or secret is not valid, or the service account was revoked',
);
export const VT_ERR_OAUTH_REVOCATIONS_FULL = defineError(
  'VT_ERR_OAUTH_REVOCATIONS_FULL',
  503,
  "This node holds as many revoked access tokens as it can until one expires; retry after %s seconds, or revoke the service account's key, which stops all its tokens",
  { retryAfter: true },
);

// --- audit configuration --------------------------------------------------------------------
export const VT_ERR_AUDIT_FILTER_INVALID = defineError(
  'VT_ERR_AUDIT_FILTER_INVALID',
  400,
  'The auditFilter is not a MongoDB query document Veritrail can evaluate: %s',
);

// --- resources ------------------------------------------------------------------------------
export const VT_ERR_PROJECT_NOT_FOUND = defineError('VT_ERR_PROJECT_NOT_FOUND', 404, 'No project with id %s exists');
export const VT_ERR_KEY_NOT_FOUND = defineError('VT_ERR_KEY_NOT_FOUND', 404, 'No key with id %s exists in project %s');
export const VT_ERR_EVENT_NOT_FOUND = defineError('VT_ERR_EVENT_NOT_FOUND', 404, 'No event with id %s exists in project %s');
export const VT_ERR_DESTINATION_NOT_FOUND = defineError('VT_ERR_DESTINATION_NOT_FOUND', 404, 'No destination with id %s exists in project %s');
export const VT_ERR_PRECONDITION_FAILED = defineError(
  'VT_ERR_PRECONDITION_FAILED',
  412,
  'ETag mismatch: the resource is at ETag "%s" and If-Match was %s; read it again and retry',
);
export const VT_ERR_EVENT_ID_CONFLICT = defineError(
  'VT_ERR_EVENT_ID_CONFLICT',
  409,
  'Event id %s was already used in this project for different content (index %s)',
);

// --- search and export -----------------------------------------------------------------------
export const VT_ERR_SEARCH_FILTER_INVALID = defineError('VT_ERR_SEARCH_FILTER_INVALID', 400, 'The filter is not a MongoDB query document Veritrail can evaluate: %s');
export const VT_ERR_SEARCH_TIME_INVALID = defineError('VT_ERR_SEARCH_TIME_INVALID', 400, 'Parameter %s must be an RFC 3339 time such as 2026-11-22T10:00:00.000Z; got %s');
export const VT_ERR_SEARCH_RANGE_EMPTY = defineError('VT_ERR_SEARCH_RANGE_EMPTY', 400, 'from (%s) must be earlier than to (%s)');
export const VT_ERR_SEARCH_QUERY_INVALID = defineError('VT_ERR_SEARCH_QUERY_INVALID', 400, 'Parameter q is not a usable full-text query: %s');
export const VT_ERR_SEARCH_CURSOR_INVALID = defineError('VT_ERR_SEARCH_CURSOR_INVALID', 400, 'The cursor is not valid for this search: %s');

// --- the log --------------------------------------------------------------------------------
export const VT_ERR_TREE_SIZE_TOO_LARGE = defineError('VT_ERR_TREE_SIZE_TOO_LARGE', 400, 'Tree size %s is larger than the current size %s');
export const VT_ERR_INDEX_OUT_OF_RANGE = defineError('VT_ERR_INDEX_OUT_OF_RANGE', 400, 'Index %s is outside a tree of size %s');
export const VT_ERR_PROOF_RANGE = defineError('VT_ERR_PROOF_RANGE', 400, 'A consistency proof needs 0 < from <= to; got from=%s to=%s');
export const VT_ERR_TILE_NOT_FOUND = defineError('VT_ERR_TILE_NOT_FOUND', 404, 'Tile %s does not exist at the current tree size');
export const VT_ERR_ENTRY_TOO_LARGE_FOR_BUNDLE = defineError(
  'VT_ERR_ENTRY_TOO_LARGE_FOR_BUNDLE',
  404,
  'Entry bundle %s holds an entry over 65,535 bytes, which tlog-tiles bundles cannot carry; read log/entries-v2/%s instead',
);
export const VT_ERR_LOG_UNAVAILABLE = defineError('VT_ERR_LOG_UNAVAILABLE', 503, 'This log is unavailable: %s');
export const VT_ERR_AUDIT_NOT_COMMITTED = defineError(
  'VT_ERR_AUDIT_NOT_COMMITTED',
  503,
  "The call is not acknowledged: its self-audit record could not be committed (request %s). A change it made may still stand; check before retrying",
);

// --- capacity -------------------------------------------------------------------------------
export const VT_ERR_STORE_BUSY = defineError('VT_ERR_STORE_BUSY', 503, 'The server is busy sequencing earlier events; retry after %s seconds', { retryAfter: true });
export const VT_ERR_SHUTTING_DOWN = defineError('VT_ERR_SHUTTING_DOWN', 503, 'The server is shutting down');
export const VT_ERR_STORE_UNAVAILABLE = defineError('VT_ERR_STORE_UNAVAILABLE', 503, 'The store could not be reached; retry after %s seconds', { retryAfter: true });
export const VT_ERR_RATE_LIMITED = defineError('VT_ERR_RATE_LIMITED', 429, 'This key made too many requests; retry after %s seconds', { retryAfter: true });
export const VT_ERR_INTERNAL = defineError('VT_ERR_INTERNAL', 500, 'An internal error occurred (request %s)');

/** Every catalogued error, for the docs test and for dialects that map codes. */
export const ERROR_CATALOGUE = {
  VT_ERR_VALIDATION,
  VT_ERR_BODY_NOT_JSON,
  VT_ERR_BODY_NOT_EVENTS,
  VT_ERR_BATCH_INVALID,
  VT_ERR_BATCH_TOO_MANY,
  VT_ERR_EVENT_TOO_LARGE,
  VT_ERR_BODY_TOO_LARGE,
  VT_ERR_UNSUPPORTED_MEDIA_TYPE,
  VT_ERR_PROJECT_ID_MALFORMED,
  VT_ERR_ROUTE_NOT_FOUND,
  VT_ERR_METHOD_NOT_ALLOWED,
  VT_ERR_NOT_ACCEPTABLE,
  VT_ERR_BODY_FIELD_UNKNOWN,
  VT_ERR_AUTH_MISSING,
  VT_ERR_AUTH_INVALID,
  VT_ERR_FORBIDDEN_ROLE,
  VT_ERR_FORBIDDEN_PROJECT,
  VT_ERR_AUTH_NONCE_STALE,
  VT_ERR_AUTH_TOKEN_EXPIRED,
  VT_ERR_OAUTH_GRANT_UNSUPPORTED,
  VT_ERR_OAUTH_REQUEST_INVALID,
  VT_ERR_OAUTH_CLIENT_INVALID,
  VT_ERR_OAUTH_REVOCATIONS_FULL,
  VT_ERR_AUDIT_FILTER_INVALID,
  VT_ERR_PROJECT_NOT_FOUND,
  VT_ERR_KEY_NOT_FOUND,
  VT_ERR_EVENT_NOT_FOUND,
  VT_ERR_DESTINATION_NOT_FOUND,
  VT_ERR_PRECONDITION_FAILED,
  VT_ERR_EVENT_ID_CONFLICT,
  VT_ERR_SEARCH_FILTER_INVALID,
  VT_ERR_SEARCH_TIME_INVALID,
  VT_ERR_SEARCH_RANGE_EMPTY,
  VT_ERR_SEARCH_QUERY_INVALID,
  VT_ERR_SEARCH_CURSOR_INVALID,
  VT_ERR_TREE_SIZE_TOO_LARGE,
  VT_ERR_INDEX_OUT_OF_RANGE,
  VT_ERR_PROOF_RANGE,
  VT_ERR_TILE_NOT_FOUND,
  VT_ERR_ENTRY_TOO_LARGE_FOR_BUNDLE,
  VT_ERR_LOG_UNAVAILABLE,
  VT_ERR_AUDIT_NOT_COMMITTED,
  VT_ERR_STORE_BUSY,
  VT_ERR_SHUTTING_DOWN,
  VT_ERR_STORE_UNAVAILABLE,
  VT_ERR_RATE_LIMITED,
  VT_ERR_INTERNAL,
} as const;

/** The union of every error code. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Builds an error that carries per-field details (for batches and schema failures). */
export function withDetails(error: VeritrailError, details: ErrorDetail[]): VeritrailError {
  return Object.assign(error, { details });
}

/** VT_ERR_VALIDATION naming each problem, in its message and as details. */
export function validationError(problems: ErrorDetail[]): VeritrailError {
  return withDetails(new VT_ERR_VALIDATION(problems.map((p) => `${p.field} ${p.problem}`).join('; ')), problems);
}

/**
 * A broken invariant inside the log (a stored tile that disagrees with the stored entries, a
 * tree size that moved under the sequencer). The sequencer stops taking work and the log reloads
 * from durable state; callers get 503.
 */
export class FatalError extends Error {
  override name = 'FatalError';
}
