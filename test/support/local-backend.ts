/**
 * A local backend (the Orchestrator) for the backend conformance suite
 * (src/domain/backend-contract-suite.ts): the memory driver (agents on loopback addresses of a random 127.x.y.0/24), real
 * control files and directories in a temp data dir, a real SQLite store, and fakes for
 * what needs the host (firewall, policy sync) and for images (the suite's one image, whose
 * build pins BACKEND_IMAGE_ID; any other name fails with 404 image_not_found).
 * `close()` destroys every sandbox, closes the store and removes the data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { AppError } from '../../src/contract/errors.js';
import { MemoryDriver } from '../../src/drivers/memory/driver.js';
import { probeAgent } from '../../src/gateway/probe.js';
import { hostFiles } from '../../src/host/files.js';
import { allocate, contains, gatewayOf } from '../../src/network/addresses.js';
import { ArchiveFiles } from '../../src/storage/archive-files.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { projectRoot } from '../../src/util/paths.js';
import { Orchestrator } from '../../src/domain/orchestrator.js';
import { WarmPool } from '../../src/domain/warm-pool.js';
import { controlDirOf } from '../../src/domain/sandbox-spec.js';
import type { DomainDeps, ImageFacts, ImagesPort } from '../../src/domain/ports.js';
import { BACKEND_IMAGE, BACKEND_IMAGE_ID } from '../../src/domain/backend-contract-suite.js';


const images: ImagesPort = {
  async resolve(name) {
    return name === BACKEND_IMAGE ? facts(name) : null;
  },
  async materialize(name) {
    if (name !== BACKEND_IMAGE) throw new AppError('image_not_found', `No image ${name}`, { field: 'image' });
    return { ...facts(name), layers: [] };
  },
};

function facts(name: string): ImageFacts {
  return { name, imageId: BACKEND_IMAGE_ID, env: [], command: [] };
}

export interface LocalBackendFixture {
  backend: Orchestrator;
  driver: MemoryDriver;
  store: Store;
  /** The workspace subnet (127.x.y.0/24). */
  subnet: string;
  /** Whether `ip` is inside it. */
  inSubnet(ip: string): boolean;
  /** The runtime token file the agent of workspace `id` reads ('' when disabled). */
  readAgentToken(id: string): Promise<string>;
  /** How many sandboxes the driver made so far (an adoption makes none). */
  creates(): number;
  close(): Promise<void>;
}

/** `warmPool`: the backend gets a warm pool of that many sandboxes per image (absent: none). */
export interface LocalBackendOptions {
  nodeId?: string | null;
  store?: Store;
  warmPool?: number;
}

/** `nodeId`: the node id this host's workspaces carry (null: a single host). `store`: share one (default: its own). */
export async function localBackend(o: LocalBackendOptions = {}): Promise<LocalBackendFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-backend-'));
  const store = o.store ?? await openStore({ dataDir });
  const net = `127.${randomInt(1, 255)}.${randomInt(0, 255)}`;
  const subnet = `${net}.0/24`;
  const workspacesDir = join(dataDir, 'workspaces');
  const driver = new MemoryDriver();
  let creates = 0;
  const create = driver.create.bind(driver);
  driver.create = async (spec) => {
    creates++;
    await mkdir(spec.stateDir, { recursive: true }); // what a real driver keeps there (a pooled one's moves on adoption)
    return create(spec);
  };
  const deps: DomainDeps = {
    driver, files: hostFiles, dirs: hostFiles, archives: new ArchiveFiles(join(dataDir, 'archives')),
    firewall: { register: async () => {}, unregister: async () => {} },
    images, probe: probeAgent,
    network: { bridge: 'none', subnet, prefixLen: 24, gateway: gatewayOf(subnet), dns: [] },
    paths: { workspacesDir, bundleDir: projectRoot(), runtimeDir: join(dataDir, 'runtime') },
    hostIfName: (shortId) => `wv${shortId}`,
    syncNetwork: async () => {},
    localNodeId: o.nodeId ?? null,
    log: () => {},
  };
  const allocator = (used: ReadonlySet<string>, preferred?: string) => allocate(subnet, used, preferred);
  // The pool's addresses: none of a stored record's (the domain takes them under its create lock).
  const reserveAddress = async (held: ReadonlySet<string>) => allocator(new Set([...held, ...(await store.allReservations()).map((r) => r.ip)]));
  let backend: Orchestrator | null = null;
  const pool = o.warmPool ? new WarmPool(deps, {
    size: o.warmPool, maxImages: 2, resources: { cpus: 1, memoryMb: 256, diskMb: 1024 }, reserveAddress, busy: () => backend?.busy ?? false,
  }) : null;
  backend = new Orchestrator(deps, store, pool, allocator);
  return {
    backend, driver, store, subnet, creates: () => creates,
    inSubnet: (ip) => contains(subnet, ip),
    readAgentToken: (id) => readFile(join(controlDirOf(workspacesDir, id), 'token'), 'utf8'),
    async close() {
      await pool?.close();
      for (const shortId of await driver.listResidue()) await driver.destroyResidue(shortId);
      if (!o.store) await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
