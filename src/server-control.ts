/**
 * `warren control` (issue 16): a stateless control-plane replica over PostgreSQL. It serves
 * the API, the runtime gateway, the public edge, the console and the SSH jump host, and owns
 * no host: no bridge, no firewall, no driver, no warm pool. Its domain runs over the fleet
 * backend (src/fleet/fleet-backend.ts): a create is placed on a ready node inside the
 * reservation, every apply/observe call goes to the node's API, and the gateway, edge and
 * jump host reach a sandbox through its node's relay (`via`), with node tokens signed by the
 * cluster key in the database (server-fleet.ts). A network policy change is enforced by the
 * nodes: the replica only publishes `routes.changed`.
 *
 * Leader tasks (TTL, idle, usage, quotas, the lost-node sweep) run on whichever control
 * replica leads; operations a dead replica left pending are finished by any replica's
 * orphan sweep under the workspace lease (src/domain/orphaned-operations.ts).
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import { createMetrics } from './metrics/registry.js';
import { isLive } from './domain/lifecycle.js';
import { NodeRegistry, nodeRegistrySettings } from './domain/nodes.js';
import { probeAgent } from './gateway/probe.js';
import { probeHost } from './host/probe.js';
import { AppError } from './contract/errors.js';
import { gatewayOf, parseSubnet } from './network/addresses.js';
import { FleetBackend, NODE_CAPABILITIES } from './fleet/fleet-backend.js';
import { NodeCaller } from './fleet/node-caller.js';
import { FleetAgentControl, nodeAgentTarget } from './fleet/fleet-agent-control.js';
import { FleetBootLog } from './fleet/fleet-boot-log.js';
import { imagesPort } from './server-images.js';
import { openDataStore, startImages } from './server-host.js';
import { buildDomain, type Domain, type NetworkWiring } from './server-domain.js';
import { openCoordination } from './server-coordination.js';
import { createPlanes } from './server-planes.js';
import { listenHttp, printConsoleLine } from './server-http.js';
import { clusterNodeKey, replicaSigner, requireDatabase } from './server-fleet.js';
import type { Store } from './store/store.js';
import { crashAtForTests } from './server-test-hooks.js';

export interface RunningControl {
  server: Server;
  port: number;
  store: Store;
  close(): Promise<void>;
}

/**
 * The network as a replica without a host sees it: nothing to program (the nodes enforce
 * policies on `routes.changed`), and no address of its own to hand out (the fleet backend
 * allocates in the chosen node's subnet). The layout is the configured subnet's, for views.
 */
function hostlessNetwork(cfg: WarrenConfig): NetworkWiring {
  const cidr = parseSubnet(cfg.subnet);
  return {
    layout: { bridge: cfg.bridge, subnet: cfg.subnet, prefixLen: cidr.prefixLen, gateway: gatewayOf(cidr), dns: [] },
    firewall: { register: async () => {}, unregister: async () => {} },
    sync: { sync: async () => {} },
    allocate: () => { throw new AppError('server_error', 'A control replica allocates addresses on the chosen node'); },
    forgetAddress: () => {},
    // Outbound IPs are the nodes' business; a replica cannot vouch for any (later work).
    hasUpstream: false,
    hostHasAddress: async () => false,
  };
}

export async function startControl(given: WarrenConfig, log: Logger): Promise<RunningControl> {
  requireDatabase(given, 'control');
  const cfg: WarrenConfig = { ...given, role: 'control' };
  crashAtForTests(); // WARREN_TEST_CRASH_AT only (a replica has no driver for the other test hooks)
  const { store, signingKey, setRecordListener } = await openDataStore(cfg);
  const coordination = await openCoordination(cfg, log);
  let domain: Domain | null = null;
  const metrics = createMetrics({
    inventory: async () => (await store.allWorkspaces()).map((r) => ({
      id: r.id, state: r.state, read: isLive(r.state) && domain ? () => domain!.orchestrator.stats(r) : undefined,
    })),
    warmPool: () => null,
  });
  // The catalog and stored images, for resolving a create's image name (the nodes build and hold the layers).
  const images = await startImages(cfg, log, metrics);
  const registry = new NodeRegistry({ store, settings: nodeRegistrySettings(process.env) });
  const { signer, relays } = replicaSigner(await clusterNodeKey(store), coordination.instanceId);
  const fleetLog = (msg: string, fields?: Record<string, unknown>) => log.info({ component: 'fleet', ...fields }, msg);
  const backend = new FleetBackend({ registry, signer, capabilities: NODE_CAPABILITIES, log: fleetLog });
  // Agents' control channels and boot logs are on the nodes: read through the node API.
  const nodeCaller = new NodeCaller({ registry, signer, log: fleetLog });
  const insideOnNode = {
    agent: new FleetAgentControl(nodeCaller), target: nodeAgentTarget, bootLog: new FleetBootLog(nodeCaller, store, fleetLog),
  };
  const network = hostlessNetwork(cfg);
  const d = (domain = await buildDomain({
    cfg, log, store, setRecordListener, signingKey, backend, relays, sshOnNode: (rec) => backend.syncSsh(rec), insideOnNode, images, imagesPort: imagesPort(images), metrics,
    network, host: await probeHost(cfg.dataDir), probe: probeAgent, coordination,
    workspacesDir: join(cfg.dataDir, 'workspaces'), runtimeDir: join(cfg.dataDir, 'runtime'),
  }));
  await d.start();
  const planes = createPlanes({ cfg, log, domain: d, images, metrics, driverName: 'fleet', networkGateway: network.layout.gateway, relays });
  const { server, port, close: closeHttp } = await listenHttp(cfg, log, d, planes);
  log.info({ role: 'control', port, host: cfg.host, dataDir: cfg.dataDir, replica: coordination.instanceId }, 'warren is listening');
  printConsoleLine(cfg, port);

  return {
    server, port, store,
    async close() {
      d.quiesce();
      await closeHttp();
      planes.edge.close();
      await d.close();
      await coordination.close();
      await store.close();
    },
  };
}
