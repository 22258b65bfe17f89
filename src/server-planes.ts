/**
 * Wiring, step "planes": the control plane (Hono app), the runtime gateway, the public
 * edge and the web console over a built domain (server-domain.ts). It sets the domain's
 * connection links, so a stopped or deleted workspace's connections are cut.
 */
import { release } from 'node:os';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { ImageStore } from './images/image-store.js';
import type { WarrenMetrics } from './metrics/registry.js';
import { ociArchiveReader } from './images/oci/index.js';
import { ImageService } from './domain/images.js';
import { NamespaceService } from './domain/namespaces.js';
import { RateLimiter } from './domain/rate-limit.js';
import { isLive } from './domain/lifecycle.js';
import { createGateway } from './gateway/gateway.js';
import { createEdge } from './gateway/edge.js';
import { createConsoleHandler } from './web-console/serve.js';
import { createControlPlane } from './control-plane/app.js';
import { imageLibrary } from './server-images.js';
import type { Domain } from './server-domain.js';
import type { Relays } from './gateway/relay-client.js';

export interface PlanesInput {
  cfg: WarrenConfig;
  log: Logger;
  domain: Domain;
  images: ImageStore;
  metrics: WarrenMetrics;
  driverName: string;
  /** The bridge's address, shown to workspaces as their network gateway. */
  networkGateway: string;
  /** Tunnels to node relays (`warren control`): the gateway and edge reach other nodes' sandboxes through them. */
  relays?: Relays;
}

export function createPlanes(i: PlanesInput) {
  const { cfg, log, domain: d, images, metrics } = i;
  // Public access (exposed ports): the edge asks the domain where a slug goes.
  const edge = createEdge({
    publicDomain: cfg.publicDomain, lookup: (slug) => d.publicAccess.resolve(slug), log: (msg, f) => log.info(f ?? {}, msg),
    ...(i.relays ? { relays: i.relays } : {}),
    onExchange: (id) => d.lifecycle.activity.begin(id),
  });
  const controlPlane = createControlPlane(
    {
      workspaces: d.workspaces, access: d.access, network: d.network, policy: d.policy, store: d.store, auth: d.auth,
      publicAccess: d.publicAccess,
      snapshots: d.lifecycle.snapshots, archives: d.lifecycle.archives, resources: d.lifecycle.resources, idle: d.lifecycle.idle,
      usage: d.usage.reports, activity: d.usage.activity,
      workloads: d.inside.workloads, logs: d.inside.logs, tokens: d.tokens, apiKeys: d.apiKeys, ssh: d.ssh.service,
      namespaces: new NamespaceService({ store: d.store, workspaces: d.workspaces, prices: () => d.usage.reports.prices, quotas: d.quotas }),
      quotas: d.quotas,
      nodes: d.nodes,
      requestLimiter: new RateLimiter(cfg.limits.requests),
      layerCapabilities: () => d.orchestrator.layers?.capabilities ?? null,
      touch: (id) => d.lifecycle.activity.touch(id),
      images: { list: async (q) => ({ images: await images.list(q), categories: images.categories() }) },
      imageService: new ImageService({ store: d.store, workspaces: d.workspaces, layers: () => d.orchestrator.requireLayers(), library: imageLibrary(images, {
        reader: ociArchiveReader, importConfig: cfg.imageImport, log: (m) => log.info({ component: 'images' }, m),
      }) }),
      builds: d.buildPlane.builds,
      stats: async (id) => {
        const rec = await d.store.getWorkspace(id);
        if (!rec || !isLive(rec.state)) return null;
        return { ...(await d.statsHub.sampleOnce(rec)) };
      },
      statsHub: d.statsHub,
      host: { driver: i.driverName, kernelRelease: release() },
      metrics,
      metricsToken: cfg.metricsToken ?? null,
    },
    {
      networkGateway: i.networkGateway,
      onInternalError: (err, requestId) => log.error({ err, request_id: requestId }, 'server fault'),
    },
  );
  const gatewayHandler = createGateway({
    resolve: (token) => d.access.resolve(token),
    log: (msg, f) => (msg.endsWith('server fault') ? log.error(f ?? {}, msg) : log.info(f ?? {}, msg)),
    onExchange: (id) => d.lifecycle.activity.begin(id),
    observeExec: metrics.observeGatewayExec,
    ...(i.relays ? { relays: i.relays } : {}),
  });
  d.links.cutRuntime = (id) => gatewayHandler.disconnectWorkspace(id);
  d.links.cutPublic = (id) => edge.disconnectWorkspace(id);
  d.links.revokePublic = (id, port) => void edge.revoke(id, port);
  return {
    controlPlane,
    edge,
    gatewayHandler,
    cpListener: getRequestListener(controlPlane.fetch),
    consoleHandler: createConsoleHandler(),
  };
}
