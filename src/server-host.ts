/**
 * Wiring, the steps before the domain: the data store, the host and its network, the
 * driver over the storage pool, and the image store. Each returns what the next steps
 * need; the host network comes back as the domain's ports (NetworkWiring).
 */
import { mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { observeStore, type RecordListener } from './store/observed.js';
import { loadOrCreateKeyFile } from './storage/secret-files.js';
import { SECRET_SETTINGS, sharedKeyBytes } from './storage/shared-secrets.js';
import { ensureBridge } from './network/index.js';
import { allocate } from './network/addresses.js';
import { hostHasAddress } from './network/upstream.js';
import { NetworkSync } from './network/sync.js';
import { ensureHostLimits } from './host/limits.js';
import { probeHost } from './host/probe.js';
import { startHostNetwork, type HostNetwork } from './server-network.js';
import { createDriver } from './drivers/registry.js';
import type { Driver } from './drivers/driver.js';
import { installTestHooks } from './server-test-hooks.js';
import { ImageStore } from './images/image-store.js';
import { createProgressPrinter } from './images/progress.js';
import { prepareStorage, storageDirs } from './storage/pool.js';
import { ensureRuntimeBundle } from './storage/runtime-bundle.js';
import type { DomainDeps, HostFacts } from './domain/ports.js';
import type { WarrenMetrics } from './metrics/registry.js';
import type { NetworkWiring } from './server-domain.js';

type Log = DomainDeps['log'];

export function logTo(log: Logger): Log {
  return (level, msg, fields) => log[level](fields ?? {}, msg);
}

/**
 * The data dir (0700), the store with a settable record listener, the gateway's signing key:
 * in the database when it is PostgreSQL (every replica signs with the same key), else a data-dir file.
 */
export async function openDataStore(cfg: WarrenConfig) {
  await mkdir(cfg.dataDir, { recursive: true, mode: 0o700 });
  await chmod(cfg.dataDir, 0o700);
  // Every workspace record written goes past the listener (deadline timers, exit watches).
  let onRecord: RecordListener = () => {};
  const store: Store = observeStore(await openStore({ dataDir: cfg.dataDir, databaseUrl: cfg.databaseUrl }), (rec, id) => onRecord(rec, id));
  const signingKey = cfg.databaseUrl
    ? await sharedKeyBytes(store, SECRET_SETTINGS.gatewaySigningKey, 32)
    : loadOrCreateKeyFile(join(cfg.dataDir, 'secrets', 'gateway-signing.key'), 32);
  return { store, signingKey, setRecordListener: (fn: RecordListener) => { onRecord = fn; } };
}

export interface HostWiring {
  /** The bridge's address (the workspaces' gateway). */
  gateway: string;
  hostNet: HostNetwork;
  networkSync: NetworkSync;
  network: NetworkWiring;
  facts: HostFacts;
  close(): Promise<void>;
}

/**
 * Host limits, the bridge, firewall, upstream and the policy sync: the host network as ports.
 * `scope`: the workspaces whose rules this host enforces (a node: its own); absent: all.
 */
export async function startHost(
  cfg: WarrenConfig, log: Logger, store: Store, metrics: WarrenMetrics, scope?: () => Promise<ReadonlySet<string>>,
): Promise<HostWiring> {
  const netLog = logTo(log);
  // Neighbour tables, inotify and the rest sized for a full bridge (src/host/limits.ts).
  await ensureHostLimits(netLog);
  // ensureBridge validates the subnet and refuses one overlapping a route Warren does not own.
  const { gateway, prefixLen } = await ensureBridge(cfg.bridge, cfg.subnet);
  const hostNet = await startHostNetwork(cfg, gateway, netLog);
  const networkSync = new NetworkSync({
    store, firewall: hostNet.firewall, allowances: hostNet.allowances, outbound: hostNet.upstream !== null, log: netLog,
    exposures: async () => (await store.allPublicPorts()).map((r) => ({ workspaceId: r.workspace_id, port: r.port })),
    observeApply: metrics.observePolicyApply,
    ...(scope ? { scope } : {}),
  });
  return {
    gateway, hostNet, networkSync,
    facts: await probeHost(cfg.dataDir),
    network: {
      layout: { bridge: cfg.bridge, subnet: cfg.subnet, prefixLen, gateway, dns: hostNet.dnsServer ? [hostNet.dnsServer] : [] },
      firewall: hostNet.firewall,
      sync: networkSync,
      allocate: (used, preferred) => allocate(cfg.subnet, used, preferred),
      forgetAddress: (ip) => hostNet.allowances.forget(ip),
      hasUpstream: hostNet.upstream !== null,
      hostHasAddress,
    },
    async close() {
      networkSync.close();
      await hostNet.close();
    },
  };
}

/** The storage pool, the driver over it (prepared), and the agent's runtime bundle. */
export async function startDriver(cfg: WarrenConfig, log: Logger): Promise<{ driver: Driver; workspacesDir: string; runtimeDir: string }> {
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
  // The agent's Node and tools with their own libraries: it runs in any image (no Node or glibc needed).
  const runtimeDir = await ensureRuntimeBundle(join(cfg.dataDir, 'runtime'), logTo(log));
  return { driver, workspacesDir: storageDir.workspaces, runtimeDir };
}

/** The image store, with the debris of an interrupted import or build removed. */
export async function startImages(cfg: WarrenConfig, log: Logger, metrics: WarrenMetrics): Promise<ImageStore> {
  const images = new ImageStore({
    imagesDir: cfg.imagesDir,
    onProgress: createProgressPrinter((line) => log.info({ component: 'images' }, line)),
    onBuilt: metrics.observeImageBuild,
  });
  const swept = await images.layers.sweep();
  if (swept.staging.length || swept.layers.length) log.info(swept, 'removed image debris of an interrupted import or build');
  return images;
}
