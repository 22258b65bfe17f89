/**
 * Warren's domain and control plane in this process, for fast route tests: a real
 * SQLite store in a temp data dir, the memory driver (src/drivers/memory/: agents on
 * loopback addresses of a random 127.x.y.0/24), and the host network replaced by ports
 * that do nothing (no bridge, no firewall, no upstream). Requests go straight to the
 * Hono app with `request(...)`; nothing listens on a TCP port but the memory agents.
 * `close()` stops the domain, destroys every sandbox and removes the data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { WarrenConfig } from '../../src/config/config.js';
import { MemoryDriver } from '../../src/drivers/memory/driver.js';
import { ImageStore } from '../../src/images/image-store.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { allocate } from '../../src/network/addresses.js';
import { probeAgent } from '../../src/gateway/probe.js';
import type { CoordinationPort, ImageFacts, ImagesPort } from '../../src/domain/ports.js';
import { openDataStore } from '../../src/server-host.js';
import { buildDomain, type Domain, type NetworkWiring } from '../../src/server-domain.js';
import { createPlanes } from '../../src/server-planes.js';

export const IN_PROCESS_ADMIN = { clientId: 'wk_inprocess', secret: 'in-process-admin-secret-0123456789' };

/** Catalog names the fake image port knows; any other name is unknown (INVALID_IMAGE). */
const KNOWN_IMAGES = new Set(['node-20', 'debian-12', 'python-3.12']);

const fakeImages: ImagesPort = {
  async resolve(name) {
    return KNOWN_IMAGES.has(name) ? facts(name) : null;
  },
  async materialize(name) {
    return { ...facts(name), layers: [] };
  },
};

function facts(name: string): ImageFacts {
  return { name, imageId: null, env: [], command: [] };
}

export interface InProcessWarren {
  cfg: WarrenConfig;
  domain: Domain;
  driver: MemoryDriver;
  /** A control-plane request as the admin (JSON body when given). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** `coordination`: a started one shared with other instances (replica tests); default in-process, this one alone. */
export async function startInProcess(opts: { coordination?: CoordinationPort } = {}): Promise<InProcessWarren> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-inproc-'));
  const net = `127.${randomInt(1, 255)}.${randomInt(0, 255)}`;
  const loaded = loadConfig({ 'data-dir': dataDir, subnet: `${net}.0/24`, port: '0', host: '127.0.0.1' });
  const cfg: WarrenConfig = {
    ...loaded,
    adminClientId: IN_PROCESS_ADMIN.clientId,
    adminClientSecret: IN_PROCESS_ADMIN.secret,
    ssh: { ...loaded.ssh, port: 0 },
    warmPool: { ...loaded.warmPool, size: 0 },
  };
  const log = pino({ level: process.env.WARREN_IN_PROCESS_LOG ?? 'silent' });
  const { store, signingKey, setRecordListener } = await openDataStore(cfg);
  const metrics = createMetrics({ inventory: async () => [], warmPool: () => null });
  const images = new ImageStore({ imagesDir: join(dataDir, 'images') });
  const driver = new MemoryDriver();
  const network: NetworkWiring = {
    layout: { bridge: 'none', subnet: cfg.subnet, prefixLen: 24, gateway: `${net}.1`, dns: [] },
    firewall: { register: async () => {}, unregister: async () => {} },
    sync: { sync: async () => {} },
    allocate: (used, preferred) => allocate(cfg.subnet, used, preferred),
    forgetAddress: () => {},
    hasUpstream: false,
    hostHasAddress: async () => false,
  };
  const domain = await buildDomain({
    cfg, log, store, setRecordListener, signingKey, driver, workspacesDir: join(dataDir, 'workspaces'), images,
    imagesPort: fakeImages, metrics, network, host: { memoryMb: 16_384, cores: 4, diskMb: 100_000 },
    runtimeDir: join(dataDir, 'runtime'), sshBundle: null, probe: probeAgent,
    ...(opts.coordination ? { coordination: opts.coordination } : {}),
  });
  await domain.start();
  const { controlPlane } = createPlanes({ cfg, log, domain, images, metrics, driverName: driver.name, networkGateway: network.layout.gateway });
  return {
    cfg, domain, driver,
    async request(method, path, body, headers = {}) {
      const res = await controlPlane.request(path, {
        method,
        headers: {
          'x-client-id': IN_PROCESS_ADMIN.clientId, 'x-client-secret': IN_PROCESS_ADMIN.secret,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* not JSON: keep the text */ }
      return { status: res.status, body: parsed };
    },
    async close() {
      domain.quiesce();
      await domain.close();
      for (const shortId of await driver.listResidue()) await driver.destroyResidue(shortId);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
