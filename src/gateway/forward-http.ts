/**
 * Forwards one HTTP request to a workspace agent (relay: src/gateway/pipe.ts).
 * The caller's credentials are replaced by the agent token; the `token` query
 * parameter is removed; hop-by-hop headers and `Expect` (answered here) are dropped.
 */
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../contract/errors.js';
import { sendWireError } from './respond.js';
import { stripTokenParam } from './paths.js';
import { endToEndHeaders, forwardedHeaders } from './headers.js';
import { relayHttp } from './pipe.js';
import { bodyTooLarge } from '../util/capped-body.js';
import { lingerThenClose } from '../util/http-guards.js';
import type { GatewayLog, RuntimeRoute } from './types.js';
import { NODE_DOWN, nodeDownError } from './relay-client.js';

export interface ForwardContext {
  route: RuntimeRoute;
  agent: Agent;
  connectTimeoutMs: number;
  log?: GatewayLog;
  /** Registers a way to cut this exchange; returns the unregister function. */
  track: (cut: () => void) => () => void;
  /** The agent answered (its status), before the headers are relayed. */
  onResponse?: (status: number) => void;
  /** Largest request body relayed (bytes); past it 413 payload_too_large (field body). */
  bodyLimit: number;
}

export function forwardHttp(req: IncomingMessage, res: ServerResponse, ctx: ForwardContext): void {
  const { route } = ctx;
  const headers = endToEndHeaders(req.headers, { forwarded: forwardedHeaders(req), drop: ['authorization', 'expect'] });
  headers.authorization = `Bearer ${route.agentToken}`;
  relayHttp(req, res, {
    host: route.host,
    port: route.port,
    path: stripTokenParam(req.url ?? '/'),
    headers,
    agent: ctx.agent,
    connectTimeoutMs: ctx.connectTimeoutMs,
    track: ctx.track,
    responseHeaders: (upRes) => {
      ctx.onResponse?.(upRes.statusCode ?? 502);
      return endToEndHeaders(upRes.headers);
    },
    bodyLimit: ctx.bodyLimit,
    onBodyTooLarge: (out) => refuseBody(req, out, bodyTooLarge(ctx.bodyLimit)),
    onUnreachable: (out, err) => {
      sendWireError(out, Object.assign(unreachable(route, err), { cause: err }), ctx.log);
    },
  });
}

/** Answers a refused body (413) and closes the connection after a bounded drain (src/util/http-guards.ts). */
export function refuseBody(req: IncomingMessage, res: ServerResponse, err: AppError): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  sendWireError(res, err);
  lingerThenClose(req);
}

function unreachable(route: RuntimeRoute, err: NodeJS.ErrnoException): AppError {
  if (err.code === NODE_DOWN) return nodeDownError(route.workspaceId, route.via?.nodeId);
  const timedOut = err.code === 'ETIMEDOUT_CONNECT';
  return new AppError(
    'agent_unreachable',
    timedOut ? 'The workspace runtime did not accept the connection in time' : 'The workspace runtime is unreachable',
    { workspace_id: route.workspaceId, reason: err.code ?? 'error' },
  );
}
