/**
 * Forwarding of public-access traffic (src/gateway/edge.ts) to a port inside a
 * workspace. Unlike the runtime gateway, the caller's credentials belong to the
 * app behind the port and pass through untouched; only hop-by-hop headers are
 * dropped and X-Forwarded-For/-Proto/-Host are set. Bodies stream both ways with
 * backpressure; upgrades (WebSocket) become a raw TCP pipe after the handshake
 * request is re-sent.
 */
import {
  request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { armConnectTimeout, forwardedHeaders } from './forward-http.js';
import { sendWireError, writeSocketError } from './respond.js';
import type { GatewayLog } from './types.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

export interface EdgeHop {
  workspaceId: string;
  ip: string;
  port: number;
  /** Request target to send upstream (path form: prefix already stripped). */
  path: string;
  agent: Agent;
  connectTimeoutMs: number;
  log?: GatewayLog;
  /** Registers a way to cut this exchange; returns the unregister function. */
  track: (cut: () => void) => () => void;
}

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const v = headers.connection;
  return new Set((typeof v === 'string' ? v : '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

/** Copies end-to-end headers; with `forwarded`, replaces X-Forwarded-* by ours. */
export function endToEndHeaders(headers: IncomingHttpHeaders, forwarded?: Record<string, string>): OutgoingHttpHeaders {
  const extra = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.has(name)) continue;
    if (forwarded && name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  if (forwarded) Object.assign(out, forwarded);
  return out;
}

export function unreachable(hop: Pick<EdgeHop, 'workspaceId' | 'port'>, reason: string): AppError {
  return new AppError('upstream_unreachable', `Nothing answered on port ${hop.port} of the workspace`, {
    workspace_id: hop.workspaceId, port: hop.port, reason,
  });
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** `retry`: a bodiless request that failed on a stale pooled socket is resent once on a fresh one. */
export function forwardEdgeHttp(req: IncomingMessage, res: ServerResponse, hop: EdgeHop, retry = true): void {
  const upstream = request({
    host: hop.ip,
    port: hop.port,
    method: req.method,
    path: hop.path,
    headers: endToEndHeaders(req.headers, forwardedHeaders(req)),
    agent: retry ? hop.agent : false,
  });
  const untrack = hop.track(() => {
    upstream.destroy();
    res.destroy();
  });
  armConnectTimeout(upstream, hop.connectTimeoutMs);
  upstream.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, endToEndHeaders(upRes.headers));
    res.flushHeaders();
    pipeline(upRes, res, () => untrack());
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    untrack();
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (retry && upstream.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') && !hasBody(req)) {
      forwardEdgeHttp(req, res, hop, false);
      return;
    }
    hop.log?.('edge: upstream unreachable', { workspace_id: hop.workspaceId, port: hop.port, code: err.code });
    req.resume();
    sendWireError(res, unreachable(hop, err.code ?? 'error'));
  });
  res.on('close', () => {
    untrack();
    if (!res.writableFinished) upstream.destroy();
  });
  if (hasBody(req)) pipeline(req, upstream, () => {});
  else upstream.end();
}

export function forwardEdgeUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, hop: EdgeHop): void {
  const upstream = connect({ host: hop.ip, port: hop.port });
  const cut = () => {
    upstream.destroy();
    client.destroy();
  };
  const untrack = hop.track(cut);
  let connected = false;
  const fail = (reason: string) => {
    clearTimeout(timer);
    untrack();
    hop.log?.('edge: upgrade upstream unreachable', { workspace_id: hop.workspaceId, port: hop.port, reason });
    writeSocketError(client, unreachable(hop, reason));
  };
  const timer = setTimeout(() => {
    upstream.destroy();
    fail('connect timeout');
  }, hop.connectTimeoutMs);

  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    upstream.setNoDelay(true);
    (client as Partial<Socket>).setNoDelay?.(true);
    upstream.write(serializeEdgeUpgrade(req, hop.path));
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) fail(err.code ?? err.message);
    else cut();
  });
  upstream.on('close', () => {
    untrack();
    if (connected) client.destroy();
  });
  client.on('error', cut);
  client.on('close', () => {
    clearTimeout(timer);
    untrack();
    upstream.destroy();
  });
}

/** The upgrade request for the app: raw header lines kept (case, order) except X-Forwarded-*. */
export function serializeEdgeUpgrade(req: IncomingMessage, path: string): string {
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.toLowerCase().startsWith('x-forwarded-')) continue;
    lines.push(`${name}: ${raw[i + 1] as string}`);
  }
  for (const [name, value] of Object.entries(forwardedHeaders(req))) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
