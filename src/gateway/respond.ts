/**
 * Error replies of the gateway, in the runtime error envelope (every runtime error
 * body carries `success: false`, runtime.md §0), on a response or on a raw socket
 * (for refused WebSocket upgrades). A 5xx answers a fixed message and the request id;
 * its detail goes to the log under that id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultDetail, isServerFault, toWireError } from '../contract/envelope.js';
import { isAppError } from '../contract/errors.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../contract/request-id.js';
import { sendJson, writeSocketError } from '../contract/json-reply.js';
import type { GatewayLog } from './types.js';
export { sendJson, writeSocketError };

/**
 * Gives the request its id (the caller's when it is a safe token) and stores it in the
 * request's headers, so the agent the request is forwarded to logs the same id.
 */
export function assignRequestId(req: IncomingMessage): string {
  const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
  req.headers[REQUEST_ID_HEADER] = id;
  return id;
}

/** A `details.retry_after` (seconds) also goes out as Retry-After (e.g. 503 workspace_waking). */
export function sendWireError(res: ServerResponse, err: unknown, log?: GatewayLog): void {
  const requestId = requestIdFrom(res.req?.headers[REQUEST_ID_HEADER]);
  const { status, body } = toWireError(err, requestId);
  if (isServerFault(status)) log?.('gateway: server fault', { request_id: requestId, status, code: body.code, ...faultDetail(err) });
  const retry = isAppError(err) ? err.details?.retry_after : undefined;
  if (!res.headersSent) {
    if (typeof retry === 'number') res.setHeader('retry-after', String(retry));
    res.setHeader(REQUEST_ID_HEADER, requestId);
  }
  sendJson(res, status, body);
}
