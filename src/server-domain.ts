/**
 * Wiring, step "domain": builds every domain service from ports (DomainDeps and the
 * network's ports) over an open store. It touches no host network itself, so tests
 * build it in-process with the memory driver (test/support/in-process.ts). `start`
 * brings the world in line (warm-pool debris, reconciliation, interrupted builds, timers)
 * before the port opens; `close` stops the domain's timers and drains its work.
 */
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { Driver } from './drivers/driver.js';
import type { Store, WorkspaceRecord } from './store/store.js';
import type { RecordListener } from './store/observed.js';
import type { ImageStore } from './images/image-store.js';
import type { WarrenMetrics } from './metrics/registry.js';
import type {
  AgentControlPort, AgentProbe, AgentTarget, AddressAllocator, BootLogPort, CoordinationPort, DomainDeps, FirewallPort, HostAddressProbe, ImagesPort,
  NetworkLayout, PolicySyncPort,
} from './domain/ports.js';
import { hostFiles } from './host/files.js';
import { Orchestrator } from './domain/orchestrator.js';
import type { WorkspaceBackend } from './domain/backend.js';
import { OrphanedOperations } from './domain/orphaned-operations.js';
import type { Relays } from './gateway/relay-client.js';
import { WorkspaceService } from './domain/workspaces.js';
import { RuntimeAccess } from './domain/runtime-access.js';
import { NetworkPolicies } from './domain/network-policy.js';
import { Reconciler } from './domain/reconciler.js';
import { StatsHub } from './domain/sampler.js';
import { defaultPolicy } from './domain/policy.js';
import { noteEntry } from './domain/activity-log.js';
import { NamespaceGate } from './domain/namespaces.js';
import { NamespaceQuotas } from './domain/namespace-quotas.js';
import { PublicAccess, publicUrls } from './domain/public-access.js';
import type { HostFacts } from './domain/ports.js';
import { BootLogFiles } from './storage/boot-log.js';
import { ArchiveFiles } from './storage/archive-files.js';
import { SandboxNames } from './drivers/ns/names.js';
import { portProbe } from './gateway/relay-probe.js';
import { projectRoot } from './util/paths.js';
import { join } from 'node:path';
import { createWarmPool } from './server-pool.js';
import { createUsage } from './server-usage.js';
import { createLifecycle } from './server-lifecycle.js';
import { createWorkloadPlane } from './server-workloads.js';
import { createSshPlane, sshBundlePath } from './server-ssh.js';
import { createBuildPlane } from './server-builds.js';
import { startAccess } from './server-access.js';
import { SECRET_SETTINGS, sharedText } from './storage/shared-secrets.js';
import { generateHostKey, isLoadableHostKey } from './ssh/host-key.js';
import { LocalCoordination } from './coordination/local.js';
import { LeaderTasks } from './coordination/leader-tasks.js';
import { EXPECTED_HEARTBEAT_MS, NodeRegistry, nodeRegistrySettings } from './domain/nodes.js';

/** The host network as the domain sees it: ports, made by server-host.ts (or fakes in tests). */
export interface NetworkWiring {
  layout: NetworkLayout;
  firewall: FirewallPort;
  sync: PolicySyncPort;
  allocate: AddressAllocator;
  /** Forgets the DNS allowances of a deleted workspace's address. */
  forgetAddress(ip: string): void;
  hasUpstream: boolean;
  hostHasAddress: HostAddressProbe;
}

export interface DomainInput {
  cfg: WarrenConfig;
  log: Logger;
  store: Store;
  /** Sets who hears every workspace record written (the store was opened before the domain). */
  setRecordListener(fn: RecordListener): void;
  signingKey: Buffer;
  /** The host's driver (the local backend's); absent only with `backend`. */
  driver?: Driver;
  /**
   * Where workspaces run when this process owns no host (`warren control`: the FleetBackend).
   * Absent: the local backend, an Orchestrator over `driver` and the host network.
   */
  backend?: WorkspaceBackend;
  /** The node id this host's workspaces carry (`warren node`); absent: the coordination's instance id on PostgreSQL, else null. */
  localNodeId?: string;
  /** Tunnels to the node relays (with `backend`): the jump host reaches other nodes' sandboxes through them. */
  relays?: Relays;
  /**
   * With `backend`: how agents and boot logs of workspaces on nodes are read (through the
   * node API: src/fleet/fleet-agent-control.ts, fleet-boot-log.ts). Absent: on this host.
   */
  insideOnNode?: { agent: AgentControlPort; target: (rec: WorkspaceRecord) => AgentTarget; bootLog: BootLogPort };
  /** With `backend`: how a running workspace's agent on a node is told its SSH settings (the node API). */
  sshOnNode?: (rec: WorkspaceRecord) => Promise<void>;
  /** The storage pool's directory of workspaces. */
  workspacesDir: string;
  images: ImageStore;
  imagesPort: ImagesPort;
  metrics: WarrenMetrics;
  network: NetworkWiring;
  host: HostFacts;
  runtimeDir: string;
  /** The sshd bundle when already known (null: none); absent: found or built in the data dir. */
  sshBundle?: string | null;
  probe: AgentProbe;
  agentControl?: AgentControlPort;
  /** Started coordination with the other replicas (server-coordination.ts); absent: in-process, this one alone. */
  coordination?: CoordinationPort;
}

/** Ends connections a plane holds to a workspace; the planes set these once they exist. */
export interface ConnectionLinks {
  cutRuntime(id: string): void;
  cutPublic(id: string): void;
  revokePublic(id: string, port: number): void;
  listenPort(): number;
}

export type Domain = Awaited<ReturnType<typeof buildDomain>>;

export async function buildDomain(i: DomainInput) {
  const { cfg, store } = i;
  const log: DomainDeps['log'] = (level, msg, fields) => i.log[level](fields ?? {}, msg);
  const coordination = i.coordination
    ?? new LocalCoordination(cfg.instanceId, (topic, err) => i.log.error({ err, topic }, 'a bus subscriber failed'));
  const bus = coordination.bus;
  const published = (topic: string) => (err: unknown) => i.log.error({ err, topic }, 'publishing to the other replicas failed');
  const links: ConnectionLinks = { cutRuntime: () => {}, cutPublic: () => {}, revokePublic: () => {}, listenPort: () => cfg.port };
  const archiveFiles = new ArchiveFiles(join(cfg.dataDir, 'archives'));
  const bootLog: BootLogPort = i.insideOnNode?.bootLog ?? new BootLogFiles(i.workspacesDir);
  const hostIfName = (shortId: string) => new SandboxNames(cfg.instanceId).hostVeth(shortId);
  if (!i.backend && !i.driver) throw new Error('buildDomain needs a driver (local backend) or a backend');
  const deps: DomainDeps | null = i.backend ? null : {
    driver: i.driver!,
    files: hostFiles,
    dirs: hostFiles,
    archives: archiveFiles,
    firewall: i.network.firewall,
    images: i.imagesPort,
    probe: i.probe,
    network: i.network.layout,
    syncNetwork: () => i.network.sync.sync(),
    bootFiles: (rec, controlDir) => ssh.service.writeBootFile(rec, controlDir),
    paths: { workspacesDir: i.workspacesDir, bundleDir: projectRoot(), runtimeDir: i.runtimeDir, sshBundleDir: sshBundlePath(cfg.dataDir) },
    hostIfName,
    bootLog,
    ...(i.agentControl ? { agentControl: i.agentControl } : {}),
    // The node id this host's workspaces carry: a node daemon's registry id, a `serve` on PostgreSQL its kept
    // id (both given as localNodeId); null on a single host. Host-local work acts only on those records.
    localNodeId: i.localNodeId ?? (cfg.databaseUrl ? coordination.instanceId : null),
    log,
  };
  const policy = defaultPolicy(cfg, i.host);
  const warmPool = deps && createWarmPool(cfg, deps, policy, {
    reserveAddress: (held) => workspaces.reserveAddress(held), busy: () => orchestrator.busy,
  });
  const orchestrator: WorkspaceBackend = i.backend ?? new Orchestrator(deps!, store, warmPool, i.network.allocate);
  const usage = createUsage({ store, config: cfg.usage, sample: (rec) => orchestrator.stats(rec), log });
  let access: RuntimeAccess | null = null;
  const statsHub = new StatsHub({
    sample: (rec) => orchestrator.stats(rec), intervalMs: cfg.statsIntervalMs,
    onError: (id, err) => i.log.warn({ id, err: String(err) }, 'stats reading failed; its streams end'),
  });
  let network: NetworkPolicies | null = null;
  const hooks = {
    log,
    activity: usage.activity.onOperation,
    onSettled: (rec: { id: string }, op: string) => {
      if (op !== 'start' && op !== 'resume' && op !== 'create') links.cutRuntime(rec.id);
      if (op !== 'start' && op !== 'resume' && op !== 'create') links.cutPublic(rec.id);
      if (op !== 'start' && op !== 'resume' && op !== 'create') ssh.disconnectWorkspace(rec.id);
      if (op === 'resume') ssh.service.resumed(rec.id);
    },
    onDeleted: (rec: WorkspaceRecord) => {
      usage.forget(rec.id);
      statsHub.forget(rec.id);
      links.cutPublic(rec.id); // its exposures went with the record (store cascade)
      i.network.forgetAddress(rec.ip);
      network?.forgetWorkspace(rec).catch((err) => i.log.error({ err, id: rec.id }, 'unlinking a deleted workspace failed'));
    },
  };
  // Quotas stop workspaces through the service made just below (called only after start-up).
  const quotas = new NamespaceQuotas({
    store, prices: () => usage.reports.prices,
    stopWorkspace: async (id): Promise<void> => { await workspaces.power(id, 'stop', { by: 'policy' }); },
  });
  const namespaceGate = new NamespaceGate(store, (ns) => quotas.admit(ns));
  const workspaces = new WorkspaceService({
    namespaces: namespaceGate,
    store, coordination, orchestrator, policy, hooks,
    network: i.network.layout,
    resolveImage: (name) => i.imagesPort.resolve(name),
    createWaitMs: 60_000,
    validateIdle: (mode, idle) => lifecycle.idle.validate(mode, idle),
  });
  const lifecycle = createLifecycle({
    store, orchestrator, workspaces, policy, archiveFiles, config: cfg.lifecycle, log,
    note: (n) => usage.activity.record(noteEntry(n)),
    namespaces: namespaceGate,
  });
  const inside = createWorkloadPlane({
    store, workspaces, exits: lifecycle.exits, bootLog, workspacesDir: i.workspacesDir,
    statsIntervalMs: cfg.statsIntervalMs, log,
    ...(i.insideOnNode ? { agentReach: { agent: i.insideOnNode.agent, target: i.insideOnNode.target } } : {}),
  });
  const ssh = await createSshPlane({
    cfg: cfg.ssh, dataDir: cfg.dataDir, store, workspaces, workspacesDir: i.workspacesDir, log,
    activity: (id) => lifecycle.activity.begin(id), wake: (id) => lifecycle.idle.wake(id),
    via: (rec) => orchestrator.via(rec), ...(i.relays ? { relays: i.relays } : {}),
    ...(i.sshOnNode ? { applyOnNode: i.sshOnNode } : {}),
    ...(i.sshBundle !== undefined ? { bundle: i.sshBundle } : {}),
    ...(cfg.databaseUrl ? { sharedHostKey: () => sharedText(store, SECRET_SETTINGS.sshJumpHostKey, () => generateHostKey().private, isLoadableHostKey) } : {}),
  });
  i.setRecordListener((rec, id) => {
    lifecycle.onRecord(rec, id);
    inside.exitWatch.sync(rec && orchestrator.owns(rec) ? rec : null, id); // vm_on_exit: this host's running workspaces that ask for it
    statsHub.observe(rec, id); // a workspace that stops ends its stats streams
    // The leader arms deadlines from every replica's writes, not only its own.
    bus.publish('workspace.changed', { origin: coordination.instanceId, workspaceId: id }).catch(published('workspace.changed'));
  });
  bus.subscribe('workspace.changed', ({ origin, workspaceId }) => {
    if (origin === coordination.instanceId) return;
    const leader = coordination.leadership.isLeader();
    // A node's workspaces are written by the control replicas: their exit watches follow those writes.
    const watches = cfg.role === 'node';
    if (!leader && !watches) return;
    store.getWorkspace(workspaceId).then((rec) => {
      if (leader) lifecycle.scheduler.refresh(rec, workspaceId);
      if (watches) inside.exitWatch.sync(rec && orchestrator.owns(rec) ? rec : null, workspaceId);
    })
      .catch((err) => i.log.error({ err, id: workspaceId }, 're-arming a workspace changed on another replica failed'));
  });
  // Revocations go through the bus: every replica's gateway and edge cut their own exchanges (this
  // replica's synchronously inside publish, before the answer; the others' within the bus bound).
  bus.subscribe('access.revoked', ({ workspaceId }) => links.cutRuntime(workspaceId));
  bus.subscribe('public.revoked', ({ workspaceId, port }) => links.revokePublic(workspaceId, port));
  // Another replica changed exposures or policies: enforce them here too (this replica's own change synced already).
  bus.subscribe('routes.changed', ({ origin }) => {
    if (origin !== coordination.instanceId) i.network.sync.sync().catch((err) => i.log.error({ err }, 'network sync failed'));
  });
  const routesChanged = async (workspaceId?: string) => {
    await i.network.sync.sync();
    bus.publish('routes.changed', { origin: coordination.instanceId, ...(workspaceId ? { workspaceId } : {}) }).catch(published('routes.changed'));
  };
  access = new RuntimeAccess(store, workspaces, orchestrator, i.signingKey,
    (id) => void bus.publish('access.revoked', { workspaceId: id }).catch(published('access.revoked')),
    () => routesChanged(), (id) => lifecycle.idle.wake(id));
  const { tokens, auth, apiKeys, prune } = await startAccess(cfg, store, workspaces, access, i.log,
    () => void bus.publish('access.keys', { origin: coordination.instanceId }).catch(published('access.keys')));
  // Another replica rotated the key ring or revoked a token: re-read both from the store.
  bus.subscribe('access.keys', ({ origin }) => {
    if (origin !== coordination.instanceId) tokens.reload().catch((err) => i.log.error({ err }, 're-reading the token key ring failed'));
  });

  network = new NetworkPolicies({
    store, workspaces, sync: { sync: () => routesChanged() }, log,
    imageLook: (image) => {
      const img = i.images.catalogEntry(image);
      return { logo: img?.logo ?? null, color: img?.color ?? null };
    },
    pool: cfg.net.outboundIps,
    hasUpstream: i.network.hasUpstream,
    hostHasAddress: i.network.hostHasAddress,
  });
  // A node daemon executes operations, it does not finish them: the control replicas that
  // started them do (src/domain/orphaned-operations.ts), so its reconciler leaves pending records alone.
  const reconciler = new Reconciler(store, orchestrator, workspaces, hooks, lifecycle.exits, archiveFiles,
    { finishPending: cfg.role !== 'node' });
  const orphans = cfg.role === 'control' ? new OrphanedOperations({ store, coordination, backend: orchestrator, hooks }) : null;
  // A node runs no leader tasks: the cluster-wide schedulers are the control replicas'.
  const leads = cfg.role !== 'node';
  const buildPlane = createBuildPlane({
    images: i.images, workspaces, store, layers: () => orchestrator.requireLayers(), workspacesDir: i.workspacesDir,
    hostIfName, log,
  });
  const publicAccess = new PublicAccess({
    store, workspaces,
    urls: publicUrls({ publicDomain: cfg.publicDomain, baseUrl: () => cfg.publicUrl.replace(/:0$/, `:${links.listenPort()}`), port: () => links.listenPort() }),
    onRevoked: (id, port) => void bus.publish('public.revoked', { workspaceId: id, port }).catch(published('public.revoked')),
    onExposuresChanged: (id) => routesChanged(id),
    wake: (id) => lifecycle.idle.wake(id),
    waitForPort: portProbe(i.relays),
    backend: orchestrator,
  });
  const timers: NodeJS.Timeout[] = [];
  const nodes = new NodeRegistry({ store, settings: nodeRegistrySettings(process.env) });
  // The cluster-wide schedulers run on the leader only (a single host always leads).
  let quotaTimer: NodeJS.Timeout | null = null;
  let lostTimer: NodeJS.Timeout | null = null;
  const sweepLostNodes = () => nodes.sweepLost().then((ids) => {
    for (const id of ids) i.log.warn({ node: id }, 'node lost: no heartbeat within the lost-after time');
  }, (err) => i.log.error({ err }, 'the lost-node sweep failed'));
  const leaderTasks = new LeaderTasks(coordination.leadership, [
    lifecycle.deadlines,
    { name: 'usage', start: (epoch) => usage.start((fn) => coordination.leadership.fenced(epoch, fn)), stop: () => usage.stop() },
    {
      // Namespace quotas: refresh usage, fire thresholds, stop workspaces of `stop_workspaces` quotas used up.
      name: 'namespace quotas',
      start: () => {
        quotaTimer = setInterval(() => {
          quotas.enforce().catch((err) => i.log.error({ err }, 'namespace quota check failed'));
        }, 60_000);
        quotaTimer.unref();
      },
      stop: () => { if (quotaTimer) clearInterval(quotaTimer); quotaTimer = null; },
    },
    { name: prune.name, start: (epoch) => prune.start((fn) => coordination.leadership.fenced(epoch, fn)), stop: () => prune.stop() },
    {
      // Nodes whose heartbeat is older than WARREN_NODE_LOST_AFTER_MS become `lost`: once now, then at the heartbeat period.
      name: 'lost-node sweep',
      start: () => {
        void sweepLostNodes();
        lostTimer = setInterval(() => void sweepLostNodes(), EXPECTED_HEARTBEAT_MS);
        lostTimer.unref();
      },
      stop: () => { if (lostTimer) clearInterval(lostTimer); lostTimer = null; },
    },
  ], log);

  return {
    store, coordination, deps, links, policy, orchestrator, warmPool, usage, statsHub, quotas, namespaceGate, workspaces, lifecycle, nodes,
    inside, bootLog, ssh, access, tokens, auth, apiKeys, network, reconciler, orphans, buildPlane, publicAccess, archiveFiles,

    /** Brings the world in line with the store; resolves before the port may open. */
    async start(): Promise<void> {
      await warmPool?.sweep(); // an earlier run's ready sandboxes: never handed over after a restart
      const summary = await reconciler.reconcileAll();
      i.log.info({ ...summary, subnet: cfg.subnet }, 'reconciled workspaces with the host');
      await buildPlane.recover(); // a build killed with the server: its temporary workspaces, then its layer holds
      await lifecycle.arm();
      if (leads) await leaderTasks.begin(); // deadlines, usage, quotas, token prune: here if this instance leads
      for (const rec of await store.allWorkspaces()) if (orchestrator.owns(rec)) inside.exitWatch.sync(rec, rec.id);
      reconciler.startSweeping(5_000);
      orphans?.start(5_000);
      await i.network.sync.sync();
      // Safety net: every path that changes a policy syncs itself; this retries an apply
      // that failed (the kernel then still differs from the last compile) within half a minute.
      timers.push(setInterval(() => {
        i.network.sync.sync().catch((err) => i.log.error({ err }, 'network sync failed'));
      }, 30_000));
      // Safety net for a lost `access.keys` message (the bus misses what is sent while it reconnects).
      if (cfg.databaseUrl) {
        timers.push(setInterval(() => {
          tokens.reload().catch((err) => i.log.error({ err }, 're-reading the token key ring failed'));
        }, 30_000));
      }
      for (const t of timers) t.unref();
    },

    /** Stops sweeping and watching (before the server closes its connections). */
    quiesce(): void {
      reconciler.stopSweeping();
      void orphans?.stop();
      lifecycle.close();
      inside.exitWatch.close();
      statsHub.close();
    },

    /** After the planes closed: lets in-flight work finish, then stops the rest. */
    async close(): Promise<void> {
      await ssh.close();
      await workspaces.drain();
      await orphans?.stop();
      if (leads) await leaderTasks.end();
      await warmPool?.close();
      await usage.close();
      for (const t of timers) clearInterval(t);
    },
  };
}
