/**
 * Time and connection limits for Warren's node:http servers (the main server and every
 * workspace's agent), with the values of src/config/limits.ts:
 *
 * - headers must arrive within `headersTimeoutMs` (slow-loris): node:http's own timer,
 *   checked often enough that the bound holds, answered 408 `request_timeout`;
 * - a body that stops arriving for `bodyIdleTimeoutMs` is answered 408 and the connection
 *   closed (`guardBodyIdle`). Only silence counts: an upload that keeps moving, or one that
 *   waits because the server is not reading yet, is never cut;
 * - an idle keep-alive connection is closed after `keepAliveTimeoutMs`;
 * - at most `maxConnectionsPerClient` open connections per remote address
 *   (`capConnectionsPerClient`): past it 429 `rate_limited` and the connection closed.
 *
 * No total request or response timeout exists on purpose: exec streams, SSE logs,
 * WebSocket terminals and long creates are answers a client is waiting for.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { toWireError } from '../contract/envelope.js';
import { sendJson } from '../contract/json-reply.js';
import { REFUSED_BODY_DRAIN, type HttpLimits } from '../config/limits.js';

/**
 * Options for `createServer`: node:http checks its header deadline only every
 * `connectionsCheckingInterval` (30 s by default), which would let a slow-loris live
 * twice the timeout; a quarter of the timeout keeps the bound tight.
 */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * Sets the timeouts on `server` (made with `httpServerOptions`) and answers what node:http
 * refuses before a request exists: headers too slow (408 request_timeout), a malformed
 * request (400 bad_request), headers too large (431, as node:http does).
 */
export function applyHttpTimeouts(server: Server, limits: HttpLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way on this socket cannot be followed by another one.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || err.code === 'ECONNRESET' || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n');
      return;
    }
    const refusal = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError('request_timeout', `The request headers did not arrive within ${limits.headersTimeoutMs} ms`, { limit_ms: limits.headersTimeoutMs })
      : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? new AppError('payload_too_large', 'Chunk extensions too large', { field: 'body', limit: 16 * 1024 }) // node:http's own limit
        : new AppError('bad_request', 'Malformed HTTP request');
    writeRawError(socket, refusal);
  });
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Watches one request's body: if the client sends nothing for `idleMs` while the body is
 * still incomplete and the server is ready to read it, answers 408 `request_timeout`
 * (field body) when nothing was sent yet, and closes the connection. Progress is read from
 * the socket's byte count, which moves even when node:http feeds the parser directly;
 * a socket paused by backpressure (the server is not reading yet) is not the client's fault.
 */
export function guardBodyIdle(req: IncomingMessage, res: ServerResponse, idleMs: number): void {
  if (!hasBody(req) || req.complete) return;
  const socket = req.socket;
  let seen = socket.bytesRead;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => clearTimeout(timer);
  const check = () => {
    if (req.complete || socket.destroyed) return;
    if (socket.bytesRead !== seen || socket.isPaused()) {
      seen = socket.bytesRead;
      timer = setTimeout(check, idleMs);
      return;
    }
    refuseAndClose(req, res, new AppError('request_timeout', `The request body stopped arriving for ${idleMs} ms`, {
      field: 'body', limit_ms: idleMs,
    }));
  };
  timer = setTimeout(check, idleMs);
  req.once('end', stop);
  req.once('close', stop);
  res.once('close', stop);
}

/** Answers `err` (when nothing was sent yet) and closes the connection once it is written. */
export function refuseAndClose(req: IncomingMessage, res: ServerResponse, err: AppError): void {
  const socket = req.socket;
  if (res.headersSent) {
    socket.destroy();
    return;
  }
  res.setHeader('connection', 'close');
  res.once('finish', () => closeAfterFlush(socket));
  sendJson(res, err.status, toWireError(err).body);
}

/**
 * After a refusal of a body still arriving (413, sent with `connection: close`): the rest is
 * read and thrown away for at most REFUSED_BODY_DRAIN (time and bytes), so a client still
 * uploading reads the answer instead of a reset (a close with unread data makes the kernel
 * send RST, which can discard the answer at the client); then the connection is closed.
 * node:http ends a `connection: close` response with `socket.destroySoon()`, which would
 * destroy the socket as soon as the answer is written: for this socket it only half-closes
 * (node:http sockets allow half-open), and the drain decides when to destroy.
 */
export function lingerThenClose(req: IncomingMessage): void {
  const socket = req.socket;
  if (req.complete || socket.destroyed) return;
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
  };
  let drained = 0;
  const close = () => {
    clearTimeout(timer);
    req.removeAllListeners('data');
    closeAfterFlush(socket);
  };
  const timer = setTimeout(close, REFUSED_BODY_DRAIN.ms);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > REFUSED_BODY_DRAIN.bytes) close();
  });
  req.once('end', close);
  req.once('error', close);
  req.resume();
}

/** Half-closes, then destroys once what was written has left (or after a second). */
function closeAfterFlush(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), 1_000);
  timer.unref();
  socket.once('finish', () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

/** Writes an error envelope on a raw socket (no request object exists) and closes it. */
export function writeRawError(socket: Duplex, err: AppError): void {
  const { status, body } = toWireError(err);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Cache-Control: no-store\r\nConnection: close\r\n\r\n' + text,
  );
  const timer = setTimeout(() => socket.destroy(), 1_000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Caps open connections per remote address (IPv4-mapped IPv6 counted as IPv4); `max` 0 =
 * no cap. A connection past the cap is not counted; the first request it sends is answered
 * 429 `rate_limited` with `details.limit` and the connection closed (`refuseOverCap`, called
 * first by the server's request and upgrade handlers), so clients read an ordinary answer.
 */
export function capConnectionsPerClient(server: Server, max: number): ConnectionCap {
  const overCap = new WeakSet<Socket>();
  if (max > 0) {
    const open = new Map<string, number>();
    server.on('connection', (socket: Socket) => {
      const client = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
      const n = open.get(client) ?? 0;
      if (n >= max) {
        overCap.add(socket);
        return;
      }
      open.set(client, n + 1);
      socket.once('close', () => {
        const left = (open.get(client) ?? 1) - 1;
        if (left > 0) open.set(client, left);
        else open.delete(client);
      });
    });
  }
  const refusal = () => new AppError('rate_limited', `More than ${max} open connections from one client`, {
    limit: max, reason: 'connections',
  });
  return {
    refuseRequest(req, res) {
      if (!overCap.has(req.socket)) return false;
      refuseAndClose(req, res, refusal());
      return true;
    },
    refuseUpgrade(req, socket) {
      if (!overCap.has(req.socket)) return false;
      writeRawError(socket, refusal());
      return true;
    },
  };
}

export interface ConnectionCap {
  /** True (and the 429 sent) when the request came on a connection past the cap. */
  refuseRequest(req: IncomingMessage, res: ServerResponse): boolean;
  refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean;
}
