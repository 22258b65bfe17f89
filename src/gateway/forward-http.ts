/**
 * Forwards one HTTP request to a workspace agent. Bodies stream both ways with
 * backpressure (nothing is buffered: SSE events and large files pass as they come).
 * The caller's credentials are replaced by the agent token; the `token` query
 * parameter is removed; hop-by-hop headers are dropped.
 */
import {
  Agent, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse,
} from 'node:http';
import { pipeline } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { sendWireError } from './respond.js';
import { stripTokenParam } from './paths.js';
import type { GatewayLog, RuntimeRoute } from './types.js';

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus Expect (answered here). */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect',
]);

/** Codes after which a request that never reached the agent may be retried on a fresh socket. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export interface ForwardContext {
  route: RuntimeRoute;
  agent: Agent;
  connectTimeoutMs: number;
  log?: GatewayLog;
  /** Registers a way to cut this exchange; returns the unregister function. */
  track: (cut: () => void) => () => void;
}

export function forwardHttp(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext, retry = true): void {
  const { route } = ctx;
  const upstream = request({
    host: route.host,
    port: route.port,
    method: req.method,
    path: stripTokenParam(req.url ?? '/'),
    headers: upstreamHeaders(req, route.agentToken),
    agent: retry ? ctx.agent : false,
  });
  const untrack = ctx.track(() => {
    upstream.destroy();
    res.destroy();
  });
  armConnectTimeout(upstream, ctx.connectTimeoutMs);

  upstream.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, downstreamHeaders(upRes.headers));
    res.flushHeaders(); // SSE clients must see the headers before the first event
    pipeline(upRes, res, () => untrack());
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    untrack();
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    if (retry && upstream.reusedSocket && STALE_SOCKET_CODES.has(err.code ?? '') && !hasBody(req)) {
      forwardHttp(req, res, ctx, false); // pooled socket had died; bodiless requests are safe to resend
      return;
    }
    ctx.log?.('gateway: agent unreachable', { workspace_id: route.workspaceId, err: err.message, code: err.code });
    sendWireError(res, unreachable(route, err));
  });
  // The client went away: stop the agent-side work too.
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (hasBody(req)) {
    pipeline(req, upstream, () => {});
  } else {
    upstream.end();
  }
}

function unreachable(route: RuntimeRoute, err: NodeJS.ErrnoException): AppError {
  const timedOut = err.code === 'ETIMEDOUT_CONNECT';
  return new AppError(
    'agent_unreachable',
    timedOut ? 'The workspace runtime did not accept the connection in time' : 'The workspace runtime is unreachable',
    { workspace_id: route.workspaceId, reason: err.code ?? 'error' },
  );
}

/** Fails the request with ETIMEDOUT_CONNECT if the TCP connect takes too long. */
export function armConnectTimeout(req: ReturnType<typeof request>, ms: number): void {
  req.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`connect timeout after ${ms} ms`);
      err.code = 'ETIMEDOUT_CONNECT';
      req.destroy(err);
    }, ms);
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Names listed in `Connection:` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const v = headers.connection;
  return new Set((typeof v === 'string' ? v : '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

export function upstreamHeaders(req: IncomingMessage, agentToken: string): OutgoingHttpHeaders {
  const extra = connectionTokens(req.headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.has(name)) continue;
    if (name === 'authorization' || name.startsWith('x-forwarded-')) continue;
    out[name] = value;
  }
  Object.assign(out, forwardedHeaders(req));
  out.authorization = `Bearer ${agentToken}`;
  return out;
}

/** X-Forwarded-For (appended), -Proto and -Host for the agent and proxied apps. */
export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const prior = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  const chain = [typeof prior === 'string' ? prior : '', client].filter(Boolean).join(', ');
  const proto = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  const out: Record<string, string> = { 'x-forwarded-for': chain, 'x-forwarded-proto': proto };
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  return out;
}

function downstreamHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const extra = connectionTokens(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.has(name)) continue;
    out[name] = value;
  }
  return out;
}
