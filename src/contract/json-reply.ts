import type { ServerResponse } from 'node:http';

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
