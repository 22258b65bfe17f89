import { AppError, ERROR_STATUS, isAppError, type ErrorCode } from './errors.js';
import { newRequestId } from './request-id.js';

/** The body of every error response, control plane and runtime alike (spec README §4.1). */
export interface ErrorBody {
  success: false;
  error: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

/**
 * What a client is told for each 5xx code. A 5xx is the server's own failure, and the
 * message an AppError carries for it may name paths, tools, addresses or other
 * workspaces (an nft refusal, a PTY loader error): that text goes to the log with the
 * request id, and the client gets this fixed sentence, the code and the id.
 */
export const SERVER_FAULT_MESSAGES: Partial<Record<ErrorCode, string>> = {
  server_error: 'Internal server error',
  not_implemented: 'Not implemented on this server',
  service_unavailable: 'The service is unavailable; retry later',
  gateway_timeout: 'The operation timed out',
  CREATE_FAILED: 'The workspace could not be created',
  VM_UNAVAILABLE: 'The workspace runtime is unavailable',
  workspace_waking: 'The workspace is waking; retry shortly',
  insufficient_storage: 'Not enough storage on the server',
  agent_unreachable: 'The workspace runtime is unreachable',
  spawn_failed: 'The process could not be started',
  upstream_unreachable: 'Nothing answered on the workspace port',
  pool_empty: 'No outbound IP is available on this server',
  ssh_unavailable: 'SSH is unavailable',
  node_lost: 'The workspace\'s node is unreachable; retry once it returns',
};

/** A detail string kept in a 5xx: a machine token (`ripgrep_not_installed`, `ECONNREFUSED`, an id); no dots, slashes or spaces, so no path or address. */
const SAFE_DETAIL_TEXT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** `details.field` names a request field (`config.cmd`, `env[0]`): starts with a letter, so never an address. */
const SAFE_FIELD = /^[A-Za-z_][A-Za-z0-9_.[\]-]{0,63}$/;

export function isServerFault(status: number): boolean {
  return status >= 500;
}

/** The message a client may read for this error. */
export function publicMessage(err: AppError): string {
  if (!isServerFault(ERROR_STATUS[err.code])) return err.message;
  return SERVER_FAULT_MESSAGES[err.code] ?? 'Internal server error';
}

/** A 5xx's details reduced to numbers, booleans and machine tokens (`retry_after`, `reason`, `field`). */
function publicDetails(err: AppError): Record<string, unknown> | undefined {
  if (!err.details) return undefined;
  if (!isServerFault(ERROR_STATUS[err.code])) return err.details;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err.details)) {
    const safe = typeof value === 'number' || typeof value === 'boolean'
      || (typeof value === 'string' && (key === 'field' ? SAFE_FIELD : SAFE_DETAIL_TEXT).test(value));
    if (safe) kept[key] = value;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** The wire body of `err`: a 5xx always carries a request id (a new one if none is given). */
export function errorBody(err: AppError, requestId?: string): ErrorBody {
  const body: ErrorBody = {
    success: false,
    error: err.code,
    code: err.code,
    message: publicMessage(err),
  };
  const details = publicDetails(err);
  if (details) body.details = details;
  const id = requestId ?? (isServerFault(err.status) ? newRequestId() : undefined);
  if (id) body.request_id = id;
  return body;
}

/**
 * Turns anything thrown into a wire error. Unknown errors become a generic
 * `server_error`; every 5xx gets its code's fixed message (never the thrown text) and a
 * `request_id`, under which the caller logs `faultDetail(err)`.
 */
export function toWireError(err: unknown, requestId?: string): { status: number; body: ErrorBody } {
  const appErr = isAppError(err)
    ? err
    : new AppError('server_error', 'Internal server error');
  return { status: ERROR_STATUS[appErr.code], body: errorBody(appErr, requestId) };
}

/** What the log keeps of a failure: message, code, stack and a tool's stderr (bounded). */
export function faultDetail(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { err: String(err).slice(0, 4000) };
  const e = err as Error & { code?: unknown; details?: unknown; stderr?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { err: e.message.slice(0, 4000) };
  if (e.code !== undefined) out.code = e.code;
  if (e.details !== undefined) out.details = e.details;
  if (typeof e.stderr === 'string' && e.stderr) out.stderr = e.stderr.slice(-4000);
  if (e.stack) out.stack = e.stack.slice(0, 4000);
  if (e.cause !== undefined) out.cause = e.cause instanceof Error ? e.cause.stack ?? e.cause.message : String(e.cause);
  return out;
}

export function ok<T extends Record<string, unknown>>(fields: T): { success: true } & T {
  return { success: true, ...fields };
}
