/**
 * Forwards an HTTP upgrade (WebSocket: /ws, /proxy…, /desktop/ws) to a workspace
 * agent as raw TCP: the upgrade request is re-serialised with the agent token in
 * place of the caller's credentials and without the `token` query parameter; from
 * then on bytes are piped both ways untouched (the agent answers the handshake,
 * including Sec-WebSocket-Protocol, itself).
 */
import { connect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../contract/errors.js';
import { writeSocketError } from './respond.js';
import { stripTokenParam } from './paths.js';
import { forwardedHeaders } from './forward-http.js';
import type { GatewayLog, RuntimeRoute } from './types.js';

export interface UpgradeContext {
  route: RuntimeRoute;
  connectTimeoutMs: number;
  log?: GatewayLog;
  track: (cut: () => void) => () => void;
}

export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, ctx: UpgradeContext): void {
  const { route } = ctx;
  const upstream = connect({ host: route.host, port: route.port });
  const cut = () => {
    upstream.destroy();
    client.destroy();
  };
  const untrack = ctx.track(cut);
  let connected = false;

  const timer = setTimeout(() => {
    upstream.destroy();
    fail('connect timeout');
  }, ctx.connectTimeoutMs);

  function fail(reason: string): void {
    clearTimeout(timer);
    untrack();
    ctx.log?.('gateway: upgrade to agent failed', { workspace_id: route.workspaceId, reason });
    writeSocketError(
      client,
      new AppError('agent_unreachable', 'The workspace runtime is unreachable', {
        workspace_id: route.workspaceId,
        reason,
      }),
    );
  }

  upstream.once('connect', () => {
    connected = true;
    clearTimeout(timer);
    upstream.setNoDelay(true);
    (client as Partial<Socket>).setNoDelay?.(true);
    upstream.write(serializeUpgradeRequest(req, route.agentToken));
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
    if (connected) client.destroy(); // before that, fail() is flushing an error reply
  });
  client.on('error', cut);
  client.on('close', () => {
    clearTimeout(timer);
    untrack();
    upstream.destroy();
  });
}

/**
 * The upgrade request as the agent must see it. Raw header lines are kept (case and
 * order) except credentials and forwarding headers, which the gateway sets itself.
 * Node's parser has already rejected CR/LF inside names and values.
 */
export function serializeUpgradeRequest(req: IncomingMessage, agentToken: string): string {
  const lines = [`${req.method ?? 'GET'} ${stripTokenParam(req.url ?? '/')} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower.startsWith('x-forwarded-')) continue;
    lines.push(`${name}: ${raw[i + 1] as string}`);
  }
  for (const [name, value] of Object.entries(forwardedHeaders(req))) lines.push(`${name}: ${value}`);
  lines.push(`Authorization: Bearer ${agentToken}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
