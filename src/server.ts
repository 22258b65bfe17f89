/**
 * Assembles Warren: store, network, driver, images, domain, control plane and
 * gateway behind one HTTP origin (spec README §1.1). Start-up order matters:
 * the store and the network exist before reconciliation; reconciliation finishes
 * before the port opens, so the first request sees a consistent world. Each step
 * is a wiring module: server-host.ts (store, host network, driver, images),
 * server-domain.ts (the domain over its ports), server-planes.ts (control plane,
 * gateway, edge, console).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { Store } from './store/store.js';
import { probeAgent } from './gateway/probe.js';
import { AgentControlClient } from './gateway/agent-control.js';
import { isConsolePath } from './web-console/serve.js';
import { isLive } from './domain/lifecycle.js';
import { createMetrics } from './metrics/registry.js';
import type { WorkspaceService } from './domain/workspaces.js';
import type { Reconciler } from './domain/reconciler.js';
import { imagesPort } from './server-images.js';
import { logTo, openDataStore, startDriver, startHost, startImages } from './server-host.js';
import { buildDomain, type Domain } from './server-domain.js';
import { openCoordination } from './server-coordination.js';
import { createPlanes } from './server-planes.js';
import { claimBridge, releaseBridgeIfUnused } from './host/bridge-ownership.js';
import { applyHttpTimeouts, capConnectionsPerClient, guardBodyIdle, httpServerOptions } from './util/http-guards.js';

export interface RunningWarren {
  server: Server;
  port: number;
  store: Store;
  workspaces: WorkspaceService;
  reconciler: Reconciler;
  /** Stops accepting requests and lets in-flight operations finish; workspaces keep running. */
  close(): Promise<void>;
}

/** Path without the query string: tokens may travel in `?token=` and must never be logged. */
function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export async function startWarren(cfg: WarrenConfig, log: Logger): Promise<RunningWarren> {
  const hostLog = logTo(log);
  // One owner per bridge: refuses here, before anything is made or touched, if another instance owns it.
  await claimBridge(cfg, hostLog);
  const { store, signingKey, setRecordListener } = await openDataStore(cfg);
  const coordination = await openCoordination(cfg, log);
  let domain: Domain | null = null;
  // Operator metrics: live workspaces are read at scrape time (the domain exists by then).
  const metrics = createMetrics({
    inventory: async () => (await store.allWorkspaces()).map((r) => ({
      id: r.id, state: r.state, read: isLive(r.state) && domain ? () => domain!.orchestrator.stats(r) : undefined,
    })),
    warmPool: () => domain?.orchestrator.pool?.counts() ?? null,
  });
  const host = await startHost(cfg, log, store, metrics);
  const { driver, workspacesDir, runtimeDir } = await startDriver(cfg, log);
  const images = await startImages(cfg, log, metrics);
  const d = (domain = await buildDomain({
    cfg, log, store, setRecordListener, signingKey, driver, workspacesDir, images, imagesPort: imagesPort(images), metrics,
    network: host.network, host: host.facts, runtimeDir, probe: probeAgent, agentControl: new AgentControlClient(), coordination,
  }));
  await d.start();
  await host.hostNet.startResolver(host.networkSync);
  const { edge, gatewayHandler, cpListener, consoleHandler } = createPlanes({
    cfg, log, domain: d, images, metrics, driverName: driver.name, networkGateway: host.gateway,
  });
  const { ssh, workspaces, reconciler } = d;

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
  await ssh.listen(); // before the API: once Warren says it listens, the jump host does too
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.port;
  d.links.listenPort = () => port;
  log.info({ port, host: cfg.host, dataDir: cfg.dataDir, bridge: cfg.bridge, subnet: cfg.subnet, driver: driver.name }, 'warren is listening');
  const shownHost = cfg.host === '0.0.0.0' || cfg.host === '::' ? '<this host>' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  process.stdout.write(`Warren console: http://${shownHost}:${port}/console (sign in with an API key or a token)\n`);

  return {
    server, port, store, workspaces, reconciler,
    async close() {
      d.quiesce();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
      await closed;
      edge.close();
      await d.close();
      await coordination.close();
      await host.close();
      await releaseBridgeIfUnused(cfg, {
        workspaceCount: async () => (await store.allWorkspaces()).length,
        sandboxCount: async () => (await driver.listResidue()).length,
      }, hostLog).catch((err: unknown) => log.error({ err }, 'releasing the bridge at stop failed; `warren purge` removes it'));
      await store.close();
    },
  };
}
