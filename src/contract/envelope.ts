import { AppError, ERROR_STATUS, isAppError } from './errors.js';

/** The body of every error response, control plane and runtime alike (spec README §4.1). */
export interface ErrorBody {
  success: false;
  error: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

export function errorBody(err: AppError, requestId?: string): ErrorBody {
  const body: ErrorBody = {
    success: false,
    error: err.code,
    code: err.code,
    message: err.message,
  };
  if (err.details) body.details = err.details;
  if (requestId) body.request_id = requestId;
  return body;
}

/**
 * Turns anything thrown into a wire error. Unknown errors become a generic
 * `server_error`: internal messages (paths, SQL, stack traces) never reach clients.
 */
export function toWireError(err: unknown, requestId?: string): { status: number; body: ErrorBody } {
  const appErr = isAppError(err)
    ? err
    : new AppError('server_error', 'Internal server error');
  return { status: ERROR_STATUS[appErr.code], body: errorBody(appErr, requestId) };
}

export function ok<T extends Record<string, unknown>>(fields: T): { success: true } & T {
  return { success: true, ...fields };
}
