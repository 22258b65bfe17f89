/**
 * Streams one request to a loopback service inside the workspace and the answer back
 * (runtime.md §11.2–11.3). Bodies flow both ways with backpressure and nothing is
 * buffered, so SSE and large transfers pass as they come. Upstream status, headers
 * and body are returned verbatim (a 404 of the service stays a 404); only when the
 * service cannot be reached does the proxy answer itself, with the error envelope.
 */
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { AppError, isAppError } from '../../contract/errors.js';
import { BODY_LIMITS } from '../../config/limits.js';
import { bodyTooLarge, cappedChunks, declaredLength, requestChunks } from '../../util/capped-body.js';
import { sendError } from '../http.js';
import { toWireError } from '../../contract/envelope.js';
import { sendJson } from '../../contract/json-reply.js';
import { downstreamResponseHeaders, upstreamRequestHeaders, upstreamUpgradeHeaders } from './headers.js';
import type { ProxyTarget } from './target.js';
import { writeSocketError } from '../../contract/json-reply.js';
export { writeSocketError };

/** A loopback connect that takes longer than this means the service is wedged. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Keep-alive pool to loopback services; no idle timeout so long polls survive. */
const pool = new Agent({ keepAlive: true, maxFreeSockets: 16 });

function unreachable(target: ProxyTarget, err: NodeJS.ErrnoException): AppError {
  return new AppError('upstream_unreachable', `Nothing answered on port ${target.port}`, {
    port: target.port,
    ...(err.code && /^E[A-Z0-9_]+$/.test(err.code) ? { reason: err.code } : {}),
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Forwards a plain HTTP request; resolves when the exchange is over. Bodies past
 * BODY_LIMITS.proxy (the gateway's cap for the same call) are refused: a declared length
 * unread, a chunked body at the first chunk past it (413, field body).
 */
export function forwardHttp(req: IncomingMessage, res: ServerResponse, target: ProxyTarget): Promise<void> {
  return new Promise((done) => {
    const limit = BODY_LIMITS.proxy;
    const declared = declaredLength(req.headers['content-length']);
    if (declared !== null && declared > limit) {
      sendError(res, bodyTooLarge(limit));
      done();
      return;
    }
    /** Set once the body went past the cap: the upstream's errors are then our own doing. */
    let refused = false;
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: target.path,
      headers: upstreamRequestHeaders(req.headers, target.hostHeader),
      agent: pool,
    });
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    upstream.once('socket', (s: Socket) => (s.connecting ? s.once('connect', () => clearTimeout(timer)) : clearTimeout(timer)));
    upstream.on('response', (upRes) => {
      clearTimeout(timer);
      if (res.headersSent || res.destroyed) {
        // the client was already answered (e.g. 408 for a body that stalled) or left
        upRes.resume();
        upstream.destroy();
        done();
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, downstreamResponseHeaders(upRes.headers));
      res.flushHeaders(); // SSE clients must see the headers before the first event
      pipeline(upRes, res, () => done());
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (refused) return;
      if (res.headersSent || res.destroyed) res.destroy();
      else sendJson(res, 502, toWireError(unreachable(target, err)).body);
      req.resume();
      done();
    });
    // The client went away mid-exchange: stop the service-side request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (!hasBody(req)) upstream.end();
    else {
      pipeline(cappedChunks(requestChunks(req), limit), upstream, (err) => {
        if (!isAppError(err)) return;
        refused = true;
        upstream.destroy();
        sendError(res, err);
        done();
      });
    }
  });
}

/**
 * Forwards a WebSocket upgrade as raw TCP: the upgrade request is re-serialised for
 * the service (reserved query parameters and credentials removed, subprotocols kept)
 * and after that bytes are piped both ways until either side closes.
 */
export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, target: ProxyTarget): void {
  const upstream = connect({ host: target.host, port: target.port });
  upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    upstream.setTimeout(0);
    upstream.setNoDelay(true);
    upstream.write(serialiseRequest(req, target));
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) writeSocketError(client, unreachable(target, err));
    else client.destroy();
  });
  upstream.on('close', () => client.destroy());
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
}

function serialiseRequest(req: IncomingMessage, target: ProxyTarget): string {
  const headers = upstreamUpgradeHeaders(req.headers, target.hostHeader);
  let text = `${req.method ?? 'GET'} ${target.path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined) text += `${name}: ${String(v).replace(/[\r\n]/g, '')}\r\n`;
    }
  }
  return `${text}\r\n`;
}

