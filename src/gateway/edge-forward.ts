/**
 * Forwarding of public-access traffic (src/gateway/edge.ts) to a port inside a
 * workspace. Unlike the runtime gateway, the caller's credentials belong to the
 * app behind the port and pass through untouched; only hop-by-hop headers are
 * dropped and X-Forwarded-For/-Proto/-Host are set. The relays (bodies streamed
 * both ways, upgrades piped) are the gateway's own (src/gateway/pipe.ts).
 */
import type { Agent, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { endToEndHeaders, forwardedHeaders, serializeHandshake } from './headers.js';
import { relayHttp, relayUpgrade } from './pipe.js';
import { sendWireError, writeSocketError } from './respond.js';
import type { GatewayLog } from './types.js';
import { NODE_DOWN, nodeDownError } from './relay-client.js';

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
  /** Opens upgrade connections another way (a node relay tunnel); absent = direct. */
  open?: () => Promise<Duplex>;
}

export function unreachable(hop: Pick<EdgeHop, 'workspaceId' | 'port'>, reason: string): AppError {
  if (reason === NODE_DOWN) return nodeDownError(hop.workspaceId, undefined);
  return new AppError('upstream_unreachable', `Nothing answered on port ${hop.port} of the workspace`, {
    workspace_id: hop.workspaceId, port: hop.port, reason,
  });
}

/** The caller's credentials belong to the app: everything end-to-end passes. */
export function forwardEdgeHttp(req: IncomingMessage, res: ServerResponse, hop: EdgeHop): void {
  relayHttp(req, res, {
    host: hop.ip,
    port: hop.port,
    path: hop.path,
    headers: endToEndHeaders(req.headers, { forwarded: forwardedHeaders(req) }),
    agent: hop.agent,
    connectTimeoutMs: hop.connectTimeoutMs,
    track: hop.track,
    responseHeaders: (upRes) => endToEndHeaders(upRes.headers),
    onUnreachable: (out, err) => {
      sendWireError(out, unreachable(hop, err.code ?? 'error'), hop.log);
    },
  });
}

export function forwardEdgeUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, hop: EdgeHop): void {
  relayUpgrade(client, head, {
    host: hop.ip,
    port: hop.port,
    handshake: serializeHandshake(req, hop.path),
    connectTimeoutMs: hop.connectTimeoutMs,
    track: hop.track,
    open: hop.open,
    onUnreachable: (socket, reason) => {
      hop.log?.('edge: upgrade upstream unreachable', { workspace_id: hop.workspaceId, port: hop.port, reason });
      writeSocketError(socket, unreachable(hop, reason));
    },
  });
}
