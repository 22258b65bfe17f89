import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { toWireError, type ErrorBody } from './envelope.js';

/**
 * Writes a JSON reply with an exact length and no caching, for the servers that
 * use node:http directly (agent, gateway). If headers already went out (a stream
 * failed midway) the only honest signal left is to cut the connection.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * Answers a refused WebSocket upgrade with the error envelope over plain HTTP, then closes.
 * Returns the body sent (its `request_id` names a 5xx in the caller's log), or null.
 */
export function writeSocketError(socket: Duplex, err: unknown, requestId?: string): ErrorBody | null {
  if (socket.destroyed) return null;
  const { status, body } = toWireError(err, requestId);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
  return body;
}
