/**
 * Assembles Warren: store, network, driver, images, domain, control plane and
 * gateway behind one HTTP origin (spec README §1.1). Start-up order matters:
 * the store and the network exist before reconciliation; reconciliation finishes
 * before the port opens, so the first request sees a consistent world. Each step
 * is a wiring module: server-host.ts (store, host network, driver, images),
 * server-domain.ts (the domain over its ports), server-planes.ts (control plane,
 * gateway, edge, console).
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { Store } from './store/store.js';
import { probeAgent } from './gateway/probe.js';
import { AgentControlClient } from './gateway/agent-control.js';
import { isLive } from './domain/lifecycle.js';
import { createMetrics } from './metrics/registry.js';
import type { WorkspaceService } from './domain/workspaces.js';
import type { Reconciler } from './domain/reconciler.js';
import { imagesPort } from './server-images.js';
import { logTo, openDataStore, startDriver, startHost, startImages } from './server-host.js';
import { buildDomain, type Domain } from './server-domain.js';
import { openCoordination, replicaIdFor } from './server-coordination.js';
import { createPlanes } from './server-planes.js';
import { claimBridge, releaseBridgeIfUnused } from './host/bridge-ownership.js';
import { listenHttp, printConsoleLine } from './server-http.js';

export interface RunningWarren {
  server: Server;
  port: number;
  store: Store;
  workspaces: WorkspaceService;
  reconciler: Reconciler;
  /** Stops accepting requests and lets in-flight operations finish; workspaces keep running. */
  close(): Promise<void>;
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
    warmPool: () => domain?.warmPool?.counts() ?? null,
  });
  const host = await startHost(cfg, log, store, metrics);
  const { driver, workspacesDir, runtimeDir } = await startDriver(cfg, log);
  const images = await startImages(cfg, log, metrics);
  const d = (domain = await buildDomain({
    cfg, log, store, setRecordListener, signingKey, driver, workspacesDir, images, imagesPort: imagesPort(images), metrics,
    network: host.network, host: host.facts, runtimeDir, probe: probeAgent, agentControl: new AgentControlClient(), coordination,
    // On a shared database its workspaces carry this server's kept id (the coordination's adds a
    // per-process suffix, so after a restart the server would no longer own what it made).
    ...(cfg.databaseUrl ? { localNodeId: replicaIdFor(cfg) } : {}),
  }));
  await d.start();
  await host.hostNet.startResolver(host.networkSync);
  const planes = createPlanes({
    cfg, log, domain: d, images, metrics, driverName: driver.name, networkGateway: host.gateway,
  });
  const { workspaces, reconciler } = d;
  const { server, port, close: closeHttp } = await listenHttp(cfg, log, d, planes);
  log.info({ port, host: cfg.host, dataDir: cfg.dataDir, bridge: cfg.bridge, subnet: cfg.subnet, driver: driver.name }, 'warren is listening');
  printConsoleLine(cfg, port);

  return {
    server, port, store, workspaces, reconciler,
    async close() {
      d.quiesce();
      await closeHttp();
      planes.edge.close();
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
