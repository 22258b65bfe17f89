/**
 * Error replies of the gateway, in the runtime error envelope (every runtime error
 * body carries `success: false`, runtime.md §0), on a response or on a raw socket
 * (for refused WebSocket upgrades).
 */
import type { ServerResponse } from 'node:http';
import { toWireError } from '../contract/envelope.js';
import { isAppError } from '../contract/errors.js';
import { sendJson, writeSocketError } from '../contract/json-reply.js';
export { sendJson, writeSocketError };

/** A `details.retry_after` (seconds) also goes out as Retry-After (e.g. 503 workspace_waking). */
export function sendWireError(res: ServerResponse, err: unknown): void {
  const { status, body } = toWireError(err);
  const retry = isAppError(err) ? err.details?.retry_after : undefined;
  if (typeof retry === 'number' && !res.headersSent) res.setHeader('retry-after', String(retry));
  sendJson(res, status, body);
}

