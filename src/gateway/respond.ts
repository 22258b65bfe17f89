/**
 * Error replies of the gateway, in the runtime error envelope (every runtime error
 * body carries `success: false`, runtime.md §0), on a response or on a raw socket
 * (for refused WebSocket upgrades).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { toWireError } from '../contract/envelope.js';
import { sendJson } from '../contract/json-reply.js';
export { sendJson };


export function sendWireError(res: ServerResponse, err: unknown): void {
  const { status, body } = toWireError(err);
  sendJson(res, status, body);
}

/** Answers a refused upgrade with a plain HTTP error response, then closes the socket. */
export function writeSocketError(socket: Duplex, err: unknown): void {
  if (socket.destroyed) return;
  const { status, body } = toWireError(err);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}
