/**
 * Builds the catalog's layers (catalog-layers.ts) into the layer store and records the
 * catalog's images, from Debian's archive (and the host's Node 20) only.
 *
 * A layer on others is made by mounting them read-only under an empty upper directory,
 * installing into the merged tree, and keeping the upper: exactly the files the layer
 * adds or changes, in overlayfs' own format. Package installs run in bubblewrap (own
 * PID/IPC/UTS namespaces, the host's network for Debian's archive), with the shared
 * .deb cache bound at /var/cache/apt/archives so downloads never land in a layer.
 *
 * Contracts:
 * - Each layer is built at most once per recipe key, across processes (a lock per
 *   layer name; the key → digest index `catalog-layers.json` is re-read under it).
 * - Nothing half-built is ever used: work happens in a staging directory that the
 *   store commits by rename, and only then is the index written.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../util/exec.js';
import { mountOverlay } from '../storage/overlay.js';
import { unmountAll } from '../storage/mounts.js';
import { CATALOG_LAYERS, DEBIAN_SUITE, layerKey, type CatalogLayerName } from './catalog-layers.js';
import type { CatalogImage } from './catalog.js';
import { acquireLock } from './lock.js';
import { digestLayerDir } from './layer-digest.js';
import type { LayerStore } from './layer-store.js';
import { EMPTY_CONFIG, imageIdOf, type ImageRecord } from './records.js';
import { BUILD_ENV, finalizeRootfs, installHostNode, verifyImage } from './rootfs.js';
import { debootstrap, type Report } from './debootstrap.js';

export interface CatalogBuildOptions {
  store: LayerStore;
  report: Report;
  /** Debian mirror (default $WARREN_DEBIAN_MIRROR or deb.debian.org). */
  mirror?: string;
}

const INDEX = 'catalog-layers.json';
/** Keeps invoke-rc.d from starting services (sshd…) inside a layer being built. */
const POLICY_RC = '#!/bin/sh\nexit 101\n';

async function readIndex(imagesDir: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(join(imagesDir, INDEX), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

async function writeIndex(imagesDir: string, key: string, digest: string): Promise<void> {
  const index = await readIndex(imagesDir);
  index[key] = digest;
  const tmp = join(imagesDir, `${INDEX}.tmp-${process.pid}`);
  await writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
  await rename(tmp, join(imagesDir, INDEX));
}

/** The digest of a built layer for this recipe key, or null. */
export async function builtLayer(store: LayerStore, name: CatalogLayerName): Promise<string | null> {
  const digest = (await readIndex(store.imagesDir))[layerKey(name)];
  return digest && store.hasLayer(digest) ? digest : null;
}

/** Removes what a layer should not carry: caches, logs of the install, host identity. */
async function cleanLayerTree(root: string): Promise<void> {
  for (const rel of ['var/lib/apt/lists', 'var/cache/apt/pkgcache.bin', 'var/cache/apt/srcpkgcache.bin',
    'root/.npm', 'root/.bash_history', 'root/.cache', 'usr/sbin/policy-rc.d']) {
    const path = join(root, rel);
    if (rel.endsWith('lists')) await run('find', [path, '-mindepth', '1', '-maxdepth', '1', '-type', 'f', '-delete']).catch(() => undefined);
    else await rm(path, { recursive: true, force: true });
  }
  // Host keys made by openssh-server's postinst would be shared by every workspace.
  await run('find', [join(root, 'etc/ssh'), '-maxdepth', '1', '-name', 'ssh_host_*', '-delete']).catch(() => undefined);
  await run('find', [join(root, 'tmp'), '-mindepth', '1', '-delete']).catch(() => undefined);
}

/** apt-get update + install inside `root` (a merged overlay), in bubblewrap. */
async function aptInstall(root: string, debs: string, packages: string[], report: Report): Promise<void> {
  await writeFile(join(root, 'usr/sbin/policy-rc.d'), POLICY_RC);
  await chmod(join(root, 'usr/sbin/policy-rc.d'), 0o755);
  const script = 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"';
  report('install', `apt-get install ${packages.join(' ')}`);
  await run('bwrap', ['--bind', root, '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/run',
    '--ro-bind', '/etc/resolv.conf', '/etc/resolv.conf', '--bind', debs, '/var/cache/apt/archives',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--clearenv',
    ...Object.entries(BUILD_ENV).flatMap(([k, v]) => ['--setenv', k, v ?? '']),
    '--', '/bin/sh', '-c', script, 'sh', ...packages], { timeoutMs: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 });
}

/** Fills `upper` with the layer's changes over `lowers` (layer dirs, base first). */
async function buildOver(name: CatalogLayerName, lowers: string[], work: string, upper: string, o: CatalogBuildOptions): Promise<void> {
  const recipe = CATALOG_LAYERS[name];
  const merged = join(work, 'merged');
  const ovlWork = join(work, 'ovl-work');
  for (const d of [upper, merged, ovlWork]) await mkdir(d, { recursive: true });
  await mountOverlay({ lowers, upper, work: ovlWork, target: merged, source: 'warren-build' });
  try {
    if (recipe.packages.length > 0) {
      const debs = join(o.store.imagesDir, '.debs');
      await mkdir(debs, { recursive: true });
      const lock = await acquireLock(join(o.store.imagesDir, '.debs.lock'));
      try {
        await aptInstall(merged, debs, recipe.packages, o.report);
      } finally {
        await lock.release();
      }
    }
    if (recipe.hostNode) {
      o.report('node', `installing host Node ${process.version} and npm into /usr/local`);
      await installHostNode(merged);
    }
    await cleanLayerTree(merged);
  } finally {
    await unmountAll(merged);
  }
  await rm(ovlWork, { recursive: true, force: true });
}

/** Builds (once) the layer `name` and those under it; resolves with its digest. */
export async function ensureCatalogLayer(name: CatalogLayerName, o: CatalogBuildOptions): Promise<string> {
  const ready = await builtLayer(o.store, name);
  if (ready) return ready;
  const recipe = CATALOG_LAYERS[name];
  const parents: string[] = [];
  for (const p of recipe.on) parents.push(await ensureCatalogLayer(p, o));
  const lock = await acquireLock(join(o.store.imagesDir, `layer-${name}.lock`), {
    onWait: (pid) => o.report('wait', `pid ${pid} is building layer ${name}; waiting`),
  });
  try {
    const again = await builtLayer(o.store, name);
    if (again) return again;
    const started = Date.now();
    o.report('prepare', `building layer ${name}${parents.length ? ` on ${recipe.on.join(', ')}` : ''}`);
    const staging = await o.store.stage();
    try {
      const upper = join(staging.path, 'layer');
      if (parents.length === 0) {
        await debootstrap({ suite: DEBIAN_SUITE, packages: recipe.packages, target: upper, imagesDir: o.store.imagesDir,
          mirror: o.mirror, report: o.report });
        await finalizeRootfs(upper);
      } else {
        await buildOver(name, parents.map((d) => o.store.layerDir(d)), staging.path, upper, o);
      }
      o.report('finalize', `hashing layer ${name}`);
      const digest = await digestLayerDir(upper);
      const rec = await o.store.locked(async () => {
        const r = await o.store.commitLayer(upper, digest);
        await writeIndex(o.store.imagesDir, layerKey(name), digest);
        return r;
      });
      o.report('done', `layer ${name} ready in ${((Date.now() - started) / 1000).toFixed(1)} s, `
        + `${(rec.size_bytes / 1e6).toFixed(0)} MB (${digest.slice(7, 19)})`);
      return digest;
    } finally {
      await staging.discard();
    }
  } finally {
    await lock.release();
  }
}

/**
 * Mounts the image's layers in a staging dir for `fn`, then unmounts. Writable mounts get
 * a throwaway upper (what `fn` writes is discarded with the staging dir).
 */
export async function withImageMounted<T>(store: LayerStore, layers: string[], fn: (root: string) => Promise<T>,
  opts: { writable?: boolean } = {}): Promise<T> {
  const staging = await store.stage();
  const root = join(staging.path, 'root');
  const scratch = opts.writable ? { upper: join(staging.path, 'upper'), work: join(staging.path, 'work') } : {};
  for (const d of [root, ...Object.values(scratch)]) await mkdir(d);
  try {
    await mountOverlay({ lowers: layers.map((d) => store.layerDir(d)), target: root, source: 'warren-inspect', ...scratch });
    try {
      return await fn(root);
    } finally {
      await unmountAll(root);
    }
  } finally {
    await staging.discard();
  }
}

/**
 * Builds the catalog image's layers, checks its tools inside the finished stack, and
 * records the image under its catalog id. Returns the record.
 */
export async function buildCatalogImage(img: CatalogImage, o: CatalogBuildOptions): Promise<ImageRecord> {
  const layers: string[] = [];
  for (const name of img.recipe.layers) layers.push(await ensureCatalogLayer(name, o));
  o.report('verify', `checking ${img.recipe.verify.map((c) => c[0]).join(', ')}`);
  const outputs = await withImageMounted(o.store, layers, (root) => verifyImage(root, img.recipe.verify),
    { writable: true });
  const history = Object.entries(outputs).map(([cmd, out]) => `verified: ${cmd}: ${out}`);
  const config = { ...EMPTY_CONFIG, labels: { 'org.opencontainers.image.title': img.label } };
  return o.store.locked(async () => {
    const sizes = await Promise.all(layers.map(async (d) => (await o.store.layer(d))?.size_bytes ?? 0));
    const rec: ImageRecord = {
      id: imageIdOf(layers, config), source: 'catalog', layers, config, created_at: new Date().toISOString(),
      size_bytes: sizes.reduce((a, b) => a + b, 0), catalog_id: img.id,
      history: [...img.recipe.layers.map((n, i) => `layer ${n}: ${layers[i]}`), ...history],
    };
    const existing = await o.store.image(rec.id);
    await o.store.putImage(existing ?? rec, [img.id]);
    return existing ?? rec;
  });
}

/** True when `dir` looks like a pre-layers catalog image (`<id>/rootfs` + manifest.json). */
export function isLegacyImage(imagesDir: string, id: string): boolean {
  return existsSync(join(imagesDir, id, 'manifest.json')) && existsSync(join(imagesDir, id, 'rootfs'));
}
