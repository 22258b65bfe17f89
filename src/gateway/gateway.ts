/**
 * The runtime gateway (spec README §1.1, §2.2; runtime.md intro). It shares the
 * Warren origin with the control plane: the server hands it every request whose
 * path `isRuntimePath` accepts, before any body parsing. Routing is by token only —
 * the URL is never per-workspace: the caller's token (Bearer header or `?token=`)
 * is resolved by the domain to an agent address and the agent's own token, and the
 * request is streamed there.
 */
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, isAppError } from '../contract/errors.js';
import { forwardHttp, refuseBody } from './forward-http.js';
import { runtimeBodyLimit } from './body-limits.js';
import { bodyTooLarge, declaredLength } from '../util/capped-body.js';
import { forwardUpgrade } from './forward-upgrade.js';
import { callerToken, isHealthPath, isRuntimePath, pathnameOf } from './paths.js';
import { assignRequestId, sendJson, sendWireError, writeSocketError } from './respond.js';
import type { Gateway, GatewayOptions, RuntimeRoute } from './types.js';
import { CutRegistry } from './cuts.js';
import { RelayRoutes } from './relay-routes.js';

export type { Gateway, GatewayOptions, RuntimeRoute } from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Command runs (`POST /exec`, `/exec/stream`, also under `/runtimes/<t>/`), for the exec latency histogram. */
function isExecPath(method: string | undefined, path: string): boolean {
  return method === 'POST' && /^(\/runtimes\/[^/]+)?\/exec(\/stream)?\/?$/.test(path);
}

/** Reads and drops a body nobody will use; past `limit` bytes the connection is cut instead. */
function discardBody(req: IncomingMessage, limit: number): void {
  let total = 0;
  req.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > limit) req.socket.destroy();
  });
  req.resume();
}

export function createGateway(opts: GatewayOptions): Gateway {
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const bodyLimit = opts.bodyLimit ?? runtimeBodyLimit;
  // Pooled keep-alive connections to agents. No socket timeout: SSE and long exec
  // requests may stay silent for minutes.
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  /** Open exchanges per workspace (for disconnectWorkspace). */
  const open = new CutRegistry();
  /** Routes with `via`: pooled tunnels through the node's relay. */
  const relayed = new RelayRoutes(opts.relays, 'agent', connectTimeoutMs);
  const track = (workspaceId: string) => open.track(workspaceId, opts.onExchange && (() => opts.onExchange!(workspaceId)));

  /** Resolves the caller's route, or throws the AppError to send back. */
  async function route(req: IncomingMessage): Promise<RuntimeRoute> {
    const token = callerToken(req);
    if (!token) throw new AppError('unauthorized', 'Missing runtime token (Authorization: Bearer or ?token=)');
    try {
      return await opts.resolve(token);
    } catch (err) {
      if (!isAppError(err)) opts.log?.('gateway: resolve failed', { err: String(err) });
      throw err;
    }
  }

  async function handleRequestAsync(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    assignRequestId(req);
    const path = pathnameOf(req.url);
    if (isHealthPath(path) && !callerToken(req) && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { success: true, status: 'ok' });
      return;
    }
    // The cap is public and costs nothing to check: a declared length past it is refused
    // unread, before the token is even looked at.
    const limit = bodyLimit(path);
    const declared = declaredLength(req.headers['content-length']);
    if (declared !== null && declared > limit) {
      refuseBody(req, res, bodyTooLarge(limit));
      return;
    }
    let target: RuntimeRoute;
    try {
      target = await route(req);
    } catch (err) {
      // Unread request bodies are discarded (up to the cap); the socket can then be reused.
      discardBody(req, limit);
      sendWireError(res, err, opts.log);
      return;
    }
    if (res.destroyed || req.destroyed) return; // client left while we resolved
    forwardHttp(req, res, {
      bodyLimit: limit,
      route: target,
      agent: target.via ? relayed.agent(target.via) : agent,
      connectTimeoutMs,
      log: opts.log,
      track: track(target.workspaceId),
      onResponse: opts.observeExec && isExecPath(req.method, path)
        ? (status) => opts.observeExec!((performance.now() - t0) / 1000, status) : undefined,
    });
  }

  async function handleUpgradeAsync(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const requestId = assignRequestId(req);
    let target: RuntimeRoute;
    try {
      target = await route(req);
    } catch (err) {
      const body = writeSocketError(socket, err, requestId);
      if (!isAppError(err) && body) opts.log?.('gateway: upgrade refused', { request_id: requestId, err: String(err) });
      return;
    }
    if (socket.destroyed) return;
    forwardUpgrade(req, socket, head, {
      route: target,
      connectTimeoutMs,
      log: opts.log,
      track: track(target.workspaceId),
      open: target.via ? relayed.opener(target.via, target.host, target.port) : undefined,
    });
  }

  return {
    isRuntimePath,
    handleRequest(req, res) {
      handleRequestAsync(req, res).catch((err) => {
        if (!res.headersSent) return sendWireError(res, err, opts.log);
        opts.log?.('gateway: request failed', { err: String(err) });
        res.destroy();
      });
    },
    handleUpgrade(req, socket, head) {
      handleUpgradeAsync(req, socket, head).catch((err) => {
        opts.log?.('gateway: upgrade failed', { err: String(err) });
        socket.destroy();
      });
    },
    disconnectWorkspace(workspaceId) {
      return open.cut(workspaceId);
    },
    close() {
      agent.destroy();
      relayed.close();
    },
  };
}
