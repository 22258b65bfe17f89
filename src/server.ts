/**
 * Assembles Warren: store, network, driver, images, domain, control plane and
 * gateway behind one HTTP origin (spec README §1.1). Start-up order matters:
 * the store and the network exist before reconciliation; reconciliation finishes
 * before the port opens, so the first request sees a consistent world.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdir, chmod } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { loadOrCreateKeyFile } from './domain/secrets.js';
import { ensureBridge } from './network/index.js';
import { ensureHostLimits } from './host/limits.js';
import { startHostNetwork } from './server-network.js';
import { NetworkSync } from './domain/network-sync.js';
import { createDriver } from './drivers/registry.js';
import { installTestHooks } from './server-test-hooks.js';
import { SandboxNames } from './drivers/ns/names.js';
import { ImageStore } from './images/image-store.js';
import { imageLibrary, imagesPort } from './server-images.js';
import { ociArchiveReader } from './images/oci/index.js';
import { ImageService } from './domain/images.js';
import { createProgressPrinter } from './images/progress.js';
import { probeAgent, waitForTcp } from './gateway/probe.js';
import { createGateway } from './gateway/gateway.js';
import { createEdge } from './gateway/edge.js';
import { createConsoleHandler, isConsolePath } from './web-console/serve.js';
import { PublicAccess, publicUrls } from './domain/public-access.js';
import { Orchestrator } from './domain/orchestrator.js';
import { WorkspaceService } from './domain/workspaces.js';
import { RuntimeAccess } from './domain/runtime-access.js';
import { NetworkPolicies } from './domain/network-policy.js';
import { Reconciler } from './domain/reconciler.js';
import { BootLogFiles } from './storage/boot-log.js';
import { createWorkloadPlane } from './server-workloads.js';
import { StatsHub } from './domain/sampler.js';
import { isLive } from './domain/lifecycle.js';
import { createMetrics } from './metrics/registry.js';
import { defaultPolicy } from './domain/policy.js';
import { createWarmPool } from './server-pool.js';
import { AgentControlClient } from './gateway/agent-control.js';
import type { DomainDeps } from './domain/ports.js';
import { createControlPlane } from './control-plane/app.js';
import { startAccess } from './server-access.js';
import { projectRoot } from './util/paths.js';
import { prepareStorage, storageDirs } from './storage/pool.js';
import { ArchiveFiles } from './storage/archive-files.js';
import { ensureRuntimeBundle } from './storage/runtime-bundle.js';
import { observeStore, type RecordListener } from './store/observed.js';
import { createLifecycle } from './server-lifecycle.js';
import { noteEntry } from './domain/activity-log.js';
import { NamespaceGate, NamespaceService } from './domain/namespaces.js';
import { NamespaceQuotas } from './domain/namespace-quotas.js';
import { RateLimiter } from './domain/rate-limit.js';
import { createUsage } from './server-usage.js';
import { createSshPlane, sshBundlePath } from './server-ssh.js';
import { createBuildPlane } from './server-builds.js';
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
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  await chmod(cfg.dataDir, 0o700);
  // Every workspace record written goes past `onRecord` (deadline timers, exit watches).
  let onRecord: RecordListener = () => {};
  const store = observeStore(await openStore({ dataDir: cfg.dataDir, databaseUrl: cfg.databaseUrl }), (rec, id) => onRecord(rec, id));
  const signingKey = await loadOrCreateKeyFile(join(cfg.dataDir, 'secrets', 'gateway-signing.key'), 32);

  const netLog: DomainDeps['log'] = (level, msg, fields) => log[level](fields ?? {}, msg);
  // Neighbour tables, inotify and the rest sized for a full bridge (src/host/limits.ts).
  await ensureHostLimits(netLog);
  // ensureBridge validates the subnet and refuses one overlapping a route Warren does not own.
  const { gateway, prefixLen } = await ensureBridge(cfg.bridge, cfg.subnet);
  // Operator metrics: live workspaces are read at scrape time (orchestrator exists by then).
  const metrics = createMetrics({
    inventory: async () => (await store.allWorkspaces()).map((r) => ({
      id: r.id, state: r.state, read: isLive(r.state) ? () => orchestrator.stats(r) : undefined,
    })),
    warmPool: () => orchestrator.pool?.counts() ?? null,
  });
  const hostNet = await startHostNetwork(cfg, gateway, netLog);
  const firewall = hostNet.firewall;
  const networkSync = new NetworkSync({
    store, firewall, allowances: hostNet.allowances, outbound: hostNet.upstream !== null, log: netLog,
    exposures: async () => (await store.allPublicPorts()).map((r) => ({ workspaceId: r.workspace_id, port: r.port })),
    observeApply: metrics.observePolicyApply,
  });

  const storage = await prepareStorage({ dataDir: cfg.dataDir, request: cfg.storage, poolBytes: cfg.storagePoolBytes });
  const storageDir = storageDirs(storage.root);
  log.info({ mode: storage.mode, copyOnWrite: storage.copyOnWrite }, 'storage ready');
  const driver = createDriver(cfg.driver, {
    instanceId: cfg.instanceId,
    log: (msg, fields) => log.info(fields ?? {}, msg),
    storage: { snapshotsDir: storageDir.snapshots, scratchDir: storageDir.scratch, copyOnWrite: storage.copyOnWrite },
  });
  await driver.prepare();
  installTestHooks(driver, log);
  const images = new ImageStore({
    imagesDir: cfg.imagesDir,
    onProgress: createProgressPrinter((line) => log.info({ component: 'images' }, line)),
    onBuilt: metrics.observeImageBuild,
  });
  const swept = await images.layers.sweep();
  if (swept.staging.length || swept.layers.length) log.info(swept, 'removed image debris of an interrupted import or build');

  const domainLog: DomainDeps['log'] = (level, msg, fields) => log[level](fields ?? {}, msg);
  // The agent's Node and tools with their own libraries: it runs in any image (no Node or glibc needed).
  const runtimeDir = await ensureRuntimeBundle(join(cfg.dataDir, 'runtime'), domainLog);
  const archiveFiles = new ArchiveFiles(join(cfg.dataDir, 'archives'));
  const bootLog = new BootLogFiles(storageDir.workspaces);
  const deps: DomainDeps = {
    driver,
    archives: archiveFiles,
    firewall,
    images: imagesPort(images),
    probe: probeAgent,
    network: { bridge: cfg.bridge, subnet: cfg.subnet, prefixLen, gateway, dns: hostNet.dnsServer ? [hostNet.dnsServer] : [] },
    syncNetwork: () => networkSync.sync(),
    bootFiles: (rec, controlDir) => ssh.service.writeBootFile(rec, controlDir),
    paths: { workspacesDir: storageDir.workspaces, bundleDir: projectRoot(), runtimeDir, sshBundleDir: sshBundlePath(cfg.dataDir) },
    hostIfName: (shortId) => new SandboxNames(cfg.instanceId).hostVeth(shortId),
    bootLog,
    agentControl: new AgentControlClient(),
    log: domainLog,
  };
  const policy = await defaultPolicy(cfg);
  const warmPool = createWarmPool(cfg, deps, policy, {
    reserveAddress: (held) => workspaces.reserveAddress(held), busy: () => orchestrator.busy,
  });
  const orchestrator = new Orchestrator(deps, store, warmPool);
  const usage = createUsage({ store, config: cfg.usage, sample: (rec) => orchestrator.stats(rec), log: domainLog });
  let access: RuntimeAccess | null = null;
  const statsHub = new StatsHub({
    sample: (rec) => orchestrator.stats(rec), intervalMs: cfg.statsIntervalMs,
    onError: (id, err) => log.warn({ id, err: String(err) }, 'stats reading failed; its streams end'),
  });
  let cutConnections: (id: string) => void = () => {};
  // Public access (exposed ports): the edge asks the domain where a slug goes.
  let listenPort = cfg.port; // the real port once listening (cfg.port may be 0)
  const edge = createEdge({
    publicDomain: cfg.publicDomain, lookup: (slug) => publicAccess.resolve(slug), log: (msg, f) => log.info(f ?? {}, msg),
    onExchange: (id) => lifecycle.activity.begin(id),
  });
  let network: NetworkPolicies | null = null;
  const hooks = {
    log: domainLog,
    activity: usage.activity.onOperation,
    onSettled: (rec: { id: string }, op: string) => {
      if (op !== 'start' && op !== 'resume' && op !== 'create') cutConnections(rec.id);
      if (op !== 'start' && op !== 'resume' && op !== 'create') edge.disconnectWorkspace(rec.id);
      if (op !== 'start' && op !== 'resume' && op !== 'create') ssh.disconnectWorkspace(rec.id);
      if (op === 'resume') ssh.service.resumed(rec.id);
    },
    onDeleted: (rec: Parameters<RuntimeAccess['forget']>[0]) => {
      access?.forget(rec);
      usage.forget(rec.id);
      statsHub.forget(rec.id);
      edge.disconnectWorkspace(rec.id); // its exposures went with the record (store cascade)
      hostNet.allowances.forget(rec.ip);
      network?.forgetWorkspace(rec).catch((err) => log.error({ err, id: rec.id }, 'unlinking a deleted workspace failed'));
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
    store, orchestrator, policy, hooks,
    network: deps.network,
    resolveImage: (name) => deps.images.resolve(name),
    createWaitMs: 60_000,
    validateIdle: (mode, idle) => lifecycle.idle.validate(mode, idle),
  });
  const lifecycle = createLifecycle({
    store, orchestrator, workspaces, policy, archiveFiles, config: cfg.lifecycle, log: domainLog,
    note: (n) => usage.activity.record(noteEntry(n)),
    namespaces: namespaceGate,
  });
  const inside = createWorkloadPlane({
    store, workspaces, exits: lifecycle.exits, bootLog, workspacesDir: storageDir.workspaces,
    statsIntervalMs: cfg.statsIntervalMs, log: domainLog,
  });
  const ssh = await createSshPlane({
    cfg: cfg.ssh, dataDir: cfg.dataDir, store, workspaces, workspacesDir: storageDir.workspaces, log: domainLog,
    activity: (id) => lifecycle.activity.begin(id), wake: (id) => lifecycle.idle.wake(id),
  });
  onRecord = (rec, id) => {
    lifecycle.onRecord(rec, id);
    inside.exitWatch.sync(rec, id); // vm_on_exit: follows running workspaces that ask for it
    statsHub.observe(rec, id); // a workspace that stops ends its stats streams
  };
  access = new RuntimeAccess(store, workspaces, orchestrator, signingKey, (id) => cutConnections(id), () => networkSync.sync(),
    (id) => lifecycle.idle.wake(id));
  await access.loadIndex();
  const { tokens, auth, apiKeys, stop: stopAccess } = await startAccess(cfg, store, workspaces, access, log);

  network = new NetworkPolicies({
    store, workspaces, sync: networkSync, log: netLog,
    imageLook: (image) => {
      const img = images.catalogEntry(image);
      return { logo: img?.logo ?? null, color: img?.color ?? null };
    },
    pool: cfg.net.outboundIps,
    hasUpstream: hostNet.upstream !== null,
  });
  const reconciler = new Reconciler(store, orchestrator, workspaces, hooks, lifecycle.exits, archiveFiles);
  await warmPool?.sweep(); // an earlier run's ready sandboxes: never handed over after a restart
  const summary = await reconciler.reconcileAll();
  log.info({ ...summary, subnet: cfg.subnet }, 'reconciled workspaces with the host');
  const buildPlane = createBuildPlane({
    images, workspaces, store, layers: () => orchestrator.requireLayers(), workspacesDir: storageDir.workspaces,
    hostIfName: deps.hostIfName, log: domainLog,
  });
  await buildPlane.recover(); // a build killed with the server: its temporary workspaces, then its layer holds
  await lifecycle.arm();
  await usage.start();
  for (const rec of await store.allWorkspaces()) inside.exitWatch.sync(rec, rec.id);
  reconciler.startSweeping(5_000);
  await networkSync.sync();
  await hostNet.startResolver(networkSync);
  // Safety net: every path that changes a policy syncs itself; this retries an apply
  // that failed (the kernel then still differs from the last compile) within half a minute.
  const networkTimer = setInterval(() => {
    networkSync.sync().catch((err) => log.error({ err }, 'network sync failed'));
  }, 30_000);
  networkTimer.unref();
  // Namespace quotas: refresh usage, fire thresholds, stop workspaces of `stop_workspaces` quotas used up.
  const quotaTimer = setInterval(() => {
    quotas.enforce().catch((err) => log.error({ err }, 'namespace quota check failed'));
  }, 60_000);
  quotaTimer.unref();

  const publicAccess = new PublicAccess({
    store, workspaces,
    urls: publicUrls({ publicDomain: cfg.publicDomain, baseUrl: () => cfg.publicUrl.replace(/:0$/, `:${listenPort}`), port: () => listenPort }),
    onRevoked: (id, port) => void edge.revoke(id, port),
    onExposuresChanged: () => networkSync.sync(),
    wake: (id) => lifecycle.idle.wake(id),
    waitForPort: waitForTcp,
  });
  const controlPlane = createControlPlane(
    {
      workspaces, access, network, policy, store, auth, publicAccess,
      snapshots: lifecycle.snapshots, archives: lifecycle.archives, resources: lifecycle.resources, idle: lifecycle.idle,
      usage: usage.reports, activity: usage.activity,
      workloads: inside.workloads, logs: inside.logs, tokens, apiKeys, ssh: ssh.service,
      namespaces: new NamespaceService({ store, workspaces, prices: () => usage.reports.prices, quotas }),
      quotas,
      requestLimiter: new RateLimiter(cfg.limits.requests),
      layerCapabilities: () => orchestrator.layers?.capabilities ?? null,
      touch: (id) => lifecycle.activity.touch(id),
      images: { list: async (q) => ({ images: await images.list(q), categories: images.categories() }) },
      imageService: new ImageService({ store, workspaces, layers: () => orchestrator.requireLayers(), library: imageLibrary(images, {
        reader: ociArchiveReader, importConfig: cfg.imageImport, log: (m) => log.info({ component: 'images' }, m),
      }) }),
      builds: buildPlane.builds,
      stats: async (id) => {
        const rec = await store.getWorkspace(id);
        if (!rec || !isLive(rec.state)) return null;
        return { ...(await statsHub.sampleOnce(rec)) };
      },
      statsHub,
      host: { driver: driver.name, kernelRelease: release() },
      metrics,
      metricsToken: cfg.metricsToken ?? null,
    },
    {
      networkGateway: gateway,
      onInternalError: (err, requestId) => log.error({ err, requestId }, 'internal error'),
    },
  );
  const gatewayHandler = createGateway({
    resolve: (token) => access!.resolve(token), log: (msg, f) => log.info(f ?? {}, msg),
    onExchange: (id) => lifecycle.activity.begin(id),
    observeExec: metrics.observeGatewayExec,
  });
  cutConnections = (id) => gatewayHandler.disconnectWorkspace(id);
  const cpListener = getRequestListener(controlPlane.fetch);
  const consoleHandler = createConsoleHandler();

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
  listenPort = port;
  log.info({ port, host: cfg.host, dataDir: cfg.dataDir, bridge: cfg.bridge, subnet: cfg.subnet, driver: driver.name }, 'warren is listening');
  const shownHost = cfg.host === '0.0.0.0' || cfg.host === '::' ? '<this host>' : cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  process.stdout.write(`Warren console: http://${shownHost}:${port}/console (sign in with an API key or a token)\n`);

  return {
    server, port, store, workspaces, reconciler,
    async close() {
      reconciler.stopSweeping();
      lifecycle.close();
      inside.exitWatch.close();
      statsHub.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
      await closed;
      edge.close();
      await ssh.close();
      await workspaces.drain();
      await warmPool?.close();
      await usage.close();
      clearInterval(networkTimer);
      clearInterval(quotaTimer);
      stopAccess();
      networkSync.close();
      await hostNet.close();
      await store.close();
    },
  };
}
