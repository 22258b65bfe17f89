/**
 * `warren node` (issue 16): the host half of `warren serve`. It owns one host — bridge,
 * firewall, driver, images, warm pool — and the workspaces placed on it, and serves no
 * public API. What it runs:
 *
 * - the domain over the local backend with `localNodeId` = its node id (the registry id,
 *   stable across restarts: `--node-id`, else `<data-dir>/node-id`), so reconciliation,
 *   exit watches and the exit sweep act on its own workspaces only. It runs no leader
 *   tasks and finishes no operation a control replica left (the replicas do:
 *   src/domain/orphaned-operations.ts); it reconciles its settled workspaces with its host;
 * - its network policy for its own workspaces only (NetworkSync `scope`), synced again on
 *   every `routes.changed` from a replica (server-domain.ts subscribes);
 * - the relay (`--relay-host`/`--relay-port`) with the node API mounted: control replicas
 *   reach its sandboxes' private addresses and tell it what to apply, both with node tokens
 *   signed by the cluster key in the database (server-fleet.ts);
 * - its presence: registered with its address (`--advertise`, default the relay's), subnet
 *   and capacity, heartbeating every 5 s (server-node-presence.ts).
 *
 * `close` (SIGTERM): stops heartbeating, closes the relay, lets in-flight operations end and
 * leaves the workspaces running; the next start re-adopts them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import { createMetrics } from './metrics/registry.js';
import { isLive } from './domain/lifecycle.js';
import { NodeRegistry, nodeRegistrySettings } from './domain/nodes.js';
import { probeAgent } from './gateway/probe.js';
import { AgentControlClient } from './gateway/agent-control.js';
import { claimBridge, releaseBridgeIfUnused } from './host/bridge-ownership.js';
import { RelayServer } from './node/relay-server.js';
import { nodeApiHandler } from './node/node-api.js';
import { controlDirOf } from './domain/sandbox-spec.js';
import { AGENT_PORT } from './domain/ports.js';
import { parseHostPort } from './config/node.js';
import { imagesPort } from './server-images.js';
import { logTo, openDataStore, startDriver, startHost, startImages } from './server-host.js';
import { buildDomain, type Domain } from './server-domain.js';
import { openCoordination, replicaIdFor } from './server-coordination.js';
import { clusterNodeKey, nodeVerifier, requireDatabase } from './server-fleet.js';
import { NodePresence } from './server-node-presence.js';
import type { NodeRegistration, Store } from './store/store.js';
import { projectRoot } from './util/paths.js';

export interface RunningNode {
  nodeId: string;
  /** The relay's (and node API's) port. */
  relayPort: number;
  store: Store;
  close(): Promise<void>;
}

function warrenVersion(): string {
  try {
    return String((JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

export async function startNode(given: WarrenConfig, log: Logger): Promise<RunningNode> {
  requireDatabase(given, 'node');
  // A node has no jump host (control replicas do) and is the node role whatever the caller set.
  const cfg: WarrenConfig = { ...given, role: 'node', ssh: { ...given.ssh, port: 0 } };
  const hostLog = logTo(log);
  await claimBridge(cfg, hostLog);
  const { store, signingKey, setRecordListener } = await openDataStore(cfg);
  const coordination = await openCoordination(cfg, log);
  // The registry id and its workspaces' node_id (the coordination's instance id adds a per-process suffix).
  const nodeId = replicaIdFor(cfg);
  const ownIds = async () => new Set((await store.allWorkspaces()).filter((r) => r.nodeId === nodeId).map((r) => r.id));
  let domain: Domain | null = null;
  const metrics = createMetrics({
    inventory: async () => (await store.allWorkspaces()).filter((r) => r.nodeId === nodeId).map((r) => ({
      id: r.id, state: r.state, read: isLive(r.state) && domain ? () => domain!.orchestrator.stats(r) : undefined,
    })),
    warmPool: () => domain?.warmPool?.counts() ?? null,
  });
  const host = await startHost(cfg, log, store, metrics, ownIds);
  const { driver, workspacesDir, runtimeDir } = await startDriver(cfg, log);
  const images = await startImages(cfg, log, metrics);
  const agentControl = new AgentControlClient();
  const d = (domain = await buildDomain({
    cfg, log, store, setRecordListener, signingKey, driver, workspacesDir, images, imagesPort: imagesPort(images), metrics,
    network: host.network, host: host.facts, runtimeDir, probe: probeAgent, agentControl, coordination,
    localNodeId: nodeId,
  }));
  await d.start();
  await host.hostNet.startResolver(host.networkSync);

  const verifier = nodeVerifier(await clusterNodeKey(store));
  const relayLog = (msg: string, fields?: Record<string, unknown>) => log.info({ component: 'relay', ...fields }, msg);
  const relay = new RelayServer({
    nodeId, verifier, subnet: cfg.subnet, log: relayLog,
    isLiveSandbox: async (ip) => {
      const row = (await store.allReservations()).find((r) => r.ip === ip);
      if (!row || row.state !== 'running') return false;
      return (await store.getWorkspace(row.id))?.nodeId === nodeId;
    },
    onRequest: nodeApiHandler({
      nodeId, verifier, backend: d.orchestrator, syncSsh: (id) => d.ssh.service.apply(id), log: relayLog,
      // Replicas read agents and boot logs here (their control tokens and the boot log are on this node).
      inside: {
        agent: agentControl, bootLog: d.bootLog, stored: (id) => store.getWorkspace(id),
        target: (rec) => ({ ip: rec.ip, port: AGENT_PORT, controlDir: controlDirOf(workspacesDir, rec.id) }),
      },
      // A pool take no replica assigned in time is settled under the create lock (src/node/pool-handoff.ts).
      pool: {
        underCreateLock: (fn) => d.workspaces.underCreateLock(fn),
        holderOf: async (ready) => {
          const row = (await store.allReservations()).find((r) => r.ip === ready.ip);
          const rec = row && await store.getWorkspace(row.id);
          return rec && rec.nodeId === nodeId && rec.shortId === ready.shortId ? rec.id : null;
        },
      },
    }),
  });
  const relayPort = await relay.listen(cfg.node.relayPort, cfg.node.relayHost);
  const address = cfg.node.advertise ?? `${cfg.node.relayHost.includes(':') ? `[${cfg.node.relayHost}]` : cfg.node.relayHost}:${relayPort}`;
  parseHostPort(address, '--advertise'); // a relay bound to 0.0.0.0 still needs an address replicas can dial
  const { capacity } = cfg.node;
  const registration: NodeRegistration = {
    id: nodeId, name: cfg.node.name, address, subnet: cfg.subnet, labels: cfg.node.labels, version: warrenVersion(),
    capacity: {
      cpus: capacity.cpus ?? host.facts.cores,
      memory_mb: capacity.memoryMb ?? host.facts.memoryMb,
      disk_mb: capacity.diskMb ?? host.facts.diskMb,
      max_workspaces: capacity.maxWorkspaces,
    },
  };
  const presence = new NodePresence(new NodeRegistry({ store, settings: nodeRegistrySettings(process.env) }), registration, hostLog);
  try {
    await presence.start();
  } catch (err) {
    await relay.close();
    throw err;
  }

  log.info({ nodeId, relayPort, address, dataDir: cfg.dataDir, bridge: cfg.bridge, subnet: cfg.subnet, driver: driver.name }, 'warren node is listening');
  process.stdout.write(`Warren node ${nodeId} listening: relay and node API on ${address}, subnet ${cfg.subnet}\n`);

  return {
    nodeId, relayPort, store,
    async close() {
      await presence.stop();
      await relay.close();
      d.quiesce();
      await d.close();
      await coordination.close();
      await host.close();
      await releaseBridgeIfUnused(cfg, {
        workspaceCount: async () => (await ownIds()).size,
        sandboxCount: async () => (await driver.listResidue()).length,
      }, hostLog).catch((err: unknown) => log.error({ err }, 'releasing the bridge at stop failed; `warren purge` removes it'));
      await store.close();
    },
  };
}
