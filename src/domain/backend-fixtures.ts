/**
 * A local backend (the Orchestrator) for the backend conformance suite and the node API
 * tests: the memory driver (agents on loopback addresses of a random 127.x.y.0/24), real
 * control files and directories in a temp data dir, a real SQLite store, and fakes for
 * what needs the host (firewall, policy sync) and for images (a small fixed catalog whose
 * builds pin FIXTURE_IMAGE_ID; `FIXTURE_MISSING_IMAGE` fails with 404 image_not_found).
 * `close()` destroys every sandbox, closes the store and removes the data dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { AppError } from '../contract/errors.js';
import { MemoryDriver } from '../drivers/memory/driver.js';
import { probeAgent } from '../gateway/probe.js';
import { hostFiles } from '../host/files.js';
import { allocate, gatewayOf } from '../network/addresses.js';
import { ArchiveFiles } from '../storage/archive-files.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { projectRoot } from '../util/paths.js';
import { Orchestrator } from './orchestrator.js';
import type { DomainDeps, ImageFacts, ImagesPort } from './ports.js';

export const FIXTURE_IMAGE = 'debian-12';
export const FIXTURE_IMAGE_ID = `sha256:${'fe'.repeat(32)}`;
export const FIXTURE_MISSING_IMAGE = 'no-such-image';

const images: ImagesPort = {
  async resolve(name) {
    return name === FIXTURE_IMAGE ? facts(name) : null;
  },
  async materialize(name) {
    if (name !== FIXTURE_IMAGE) throw new AppError('image_not_found', `No image ${name}`, { field: 'image' });
    return { ...facts(name), layers: [] };
  },
};

function facts(name: string): ImageFacts {
  return { name, imageId: FIXTURE_IMAGE_ID, env: [], command: [] };
}

export interface LocalBackendFixture {
  backend: Orchestrator;
  driver: MemoryDriver;
  store: Store;
  /** The workspace subnet (127.x.y.0/24). */
  subnet: string;
  /** Where the workspaces' control files are (controlDirOf). */
  workspacesDir: string;
  close(): Promise<void>;
}

/** `nodeId`: the node id this host's workspaces carry (null: a single host). `store`: share one (default: its own). */
export async function localBackend(o: { nodeId?: string | null; store?: Store } = {}): Promise<LocalBackendFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-backend-'));
  const store = o.store ?? await openStore({ dataDir });
  const net = `127.${randomInt(1, 255)}.${randomInt(0, 255)}`;
  const subnet = `${net}.0/24`;
  const workspacesDir = join(dataDir, 'workspaces');
  const driver = new MemoryDriver();
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
  const backend = new Orchestrator(deps, store, null, (used, preferred) => allocate(subnet, used, preferred));
  return {
    backend, driver, store, subnet, workspacesDir,
    async close() {
      for (const shortId of await driver.listResidue()) await driver.destroyResidue(shortId);
      if (!o.store) await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
