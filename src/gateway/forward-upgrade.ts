/**
 * Forwards a WebSocket upgrade to a workspace agent (relay: src/gateway/pipe.ts):
 * the handshake is re-sent with the agent token in place of the caller's
 * credentials and without the `token` query parameter; then bytes flow both ways.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../contract/request-id.js';
import { writeSocketError } from './respond.js';
import { stripTokenParam } from './paths.js';
import { serializeHandshake } from './headers.js';
import { relayUpgrade } from './pipe.js';
import type { GatewayLog, RuntimeRoute } from './types.js';
import { NODE_DOWN, nodeDownError } from './relay-client.js';

export interface UpgradeContext {
  route: RuntimeRoute;
  connectTimeoutMs: number;
  log?: GatewayLog;
  track: (cut: () => void) => () => void;
  /** Opens the connection to the agent another way (a node relay tunnel); absent = direct. */
  open?: () => Promise<Duplex>;
}

/**
 * The upgrade request as the agent must see it: caller credentials replaced by the agent
 * token, and the gateway's request id (assigned in gateway.ts) in place of the caller's.
 */
export function serializeUpgradeRequest(req: IncomingMessage, agentToken: string): string {
  const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
  return serializeHandshake(req, stripTokenParam(req.url ?? '/'), ['authorization', REQUEST_ID_HEADER],
    [`Authorization: Bearer ${agentToken}`, `X-Request-Id: ${id}`]);
}

export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, ctx: UpgradeContext): void {
  const { route } = ctx;
  relayUpgrade(client, head, {
    host: route.host,
    port: route.port,
    handshake: serializeUpgradeRequest(req, route.agentToken),
    connectTimeoutMs: ctx.connectTimeoutMs,
    track: ctx.track,
    open: ctx.open,
    onUnreachable: (socket, reason) => {
      const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
      ctx.log?.('gateway: upgrade to agent failed', { request_id: requestId, workspace_id: route.workspaceId, reason });
      writeSocketError(socket, reason === NODE_DOWN ? nodeDownError(route.workspaceId, route.via?.nodeId)
        : new AppError('agent_unreachable', 'The workspace runtime is unreachable', { workspace_id: route.workspaceId, reason }), requestId);
    },
  });
}
