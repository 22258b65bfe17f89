/**
 * The one HTTP origin of a replica (spec README §1.1): the edge (exposed ports), the runtime
 * gateway, the web console and the control plane behind one listener, with the HTTP guards
 * (src/util/http-guards.ts). Shared by `warren serve` (src/server.ts) and `warren control`
 * (src/server-control.ts); the jump host is opened first, so once the API listens it does too.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import { isConsolePath } from './web-console/serve.js';
import type { Domain } from './server-domain.js';
import type { createPlanes } from './server-planes.js';
import { applyHttpTimeouts, capConnectionsPerClient, guardBodyIdle, httpServerOptions } from './util/http-guards.js';

/** Path without the query string: tokens may travel in `?token=` and must never be logged. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export interface ListeningHttp {
  server: Server;
  port: number;
  /** Stops accepting; idle connections close now, the rest within 2 s. */
  close(): Promise<void>;
}

export async function listenHttp(cfg: WarrenConfig, log: Logger, d: Domain, planes: ReturnType<typeof createPlanes>): Promise<ListeningHttp> {
  const { edge, gatewayHandler, cpListener, consoleHandler } = planes;
  const httpLimits = cfg.limits.http;
  const server = createServer(httpServerOptions(httpLimits), (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ method: req.method, path: pathOf(req), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    if (connectionCap.refuseRequest(req, res)) return;
    const path = pathOf(req);
    // Relayed bodies are watched here; the control plane's reader has its own idle timer (control-plane/http.ts).
    if (edge.matches(req)) {
      guardBodyIdle(req, res, httpLimits.bodyIdleTimeoutMs);
      edge.handleRequest(req, res);
    } else if (gatewayHandler.isRuntimePath(path)) {
      guardBodyIdle(req, res, httpLimits.bodyIdleTimeoutMs);
      gatewayHandler.handleRequest(req, res);
    } else if (isConsolePath(path)) consoleHandler(req, res, path);
    else void cpListener(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (connectionCap.refuseUpgrade(req, socket)) return;
    if (edge.matches(req)) edge.handleUpgrade(req, socket, head);
    else if (gatewayHandler.isRuntimePath(pathOf(req))) gatewayHandler.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  // Header, body-idle and keep-alive timeouts, no total request timeout (streams run long), and
  // the per-client connection cap: src/util/http-guards.ts with src/config/limits.ts.
  applyHttpTimeouts(server, httpLimits);
  const connectionCap = capConnectionsPerClient(server, httpLimits.maxConnectionsPerClient);
  await d.ssh.listen(); // before the API: once Warren says it listens, the jump host does too
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  d.links.listenPort = () => port;
  return {
    server, port,
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
      await closed;
    },
  };
}

/** The console line every role that serves the API prints once it listens. */
export function printConsoleLine(cfg: WarrenConfig, port: number): void {
  const shownHost = cfg.host === '0.0.0.0' || cfg.host === '::' ? '<this host>' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  process.stdout.write(`Warren console: http://${shownHost}:${port}/console (sign in with an API key or a token)\n`);
}
