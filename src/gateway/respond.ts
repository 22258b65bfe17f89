/**
 * Error replies of the gateway, in the runtime error envelope (every runtime error
 * body carries `success: false`, runtime.md §0), on a response or on a raw socket
 * (for refused WebSocket upgrades).
 */
import type { ServerResponse } from 'node:http';
import { toWireError } from '../contract/envelope.js';
import { sendJson, writeSocketError } from '../contract/json-reply.js';
export { sendJson, writeSocketError };


export function sendWireError(res: ServerResponse, err: unknown): void {
  const { status, body } = toWireError(err);
  sendJson(res, status, body);
}

