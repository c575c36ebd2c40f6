/** The native error body of spec/api.md: `{"error", "message", "details"?}`. */
import { nativeCodeFor, type VeritrailError } from '../../core/errors.ts';
import { jsonErrorHandler } from '../errors.ts';

export function nativeErrorBody(error: VeritrailError): { error: string; message: string; details?: unknown } {
  return {
    error: nativeCodeFor(error.statusCode),
    message: error.message,
    ...(error.details && error.details.length > 0 ? { details: error.details } : {}),
  };
}

/** The error handler of the native API (and the app's, for unmatched routes and root routes). */
export const nativeErrorHandler = jsonErrorHandler(nativeErrorBody);
