/**
 * Builds a catalog image into `<imagesDir>/<id>/{rootfs/,manifest.json}` from Debian's
 * archive (debootstrap minbase + the recipe's packages), plus the host's Node 20 for
 * node images. The finished rootfs is a plain directory, so drivers overlay it read-only
 * and creating a workspace never copies it.
 *
 * Contracts:
 * - At most one build of an image at a time across processes (`<imagesDir>/<id>.lock`);
 *   a caller that waited for another builder returns the finished image.
 * - A build happens in `<imagesDir>/.build-<id>-<pid>-<rand>/` and becomes visible by one
 *   rename, so `<imagesDir>/<id>/manifest.json` existing means the image is complete.
 *   Leftover build dirs from crashed builders are removed under the lock.
 * - Downloaded .debs are cached in `<imagesDir>/.debs` and shared between images;
 *   `<imagesDir>/.debs.lock` serialises debootstrap runs that write to that cache.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AppError } from '../contract/errors.js';
import { resolveImage, type CatalogImage } from './catalog.js';
import { acquireLock } from './lock.js';
import {
  BUILD_ENV, chrootRun, describeRootfs, finalizeRootfs, installHostNode, removeTree, verifyImage,
} from './rootfs.js';

export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';
const SETPRIV = '/usr/bin/setpriv';

export type BuildPhase = 'wait' | 'prepare' | 'debootstrap' | 'node' | 'verify' | 'finalize' | 'done';

export interface BuildProgress {
  image: string;
  phase: BuildPhase;
  message: string;
}

export interface BuildOptions {
  imagesDir: string;
  onProgress?: (p: BuildProgress) => void;
  /** Debian mirror (default $WARREN_DEBIAN_MIRROR or deb.debian.org). */
  mirror?: string;
}

export interface ImageManifest {
  id: string;
  image: string;
  built_at: string;
  build_ms: number;
  size_bytes: number;
  /** Installed Debian packages (dpkg names). */
  packages: string[];
  debian_version: string | null;
  node_version: string | null;
  npm_version: string | null;
}

export interface BuildResult {
  rootfs: string;
  manifest: ImageManifest;
  /** False when the image was already built (by us earlier or by another process). */
  built: boolean;
}

/** `<imagesDir>/<id>`: the image's directory once complete. */
export function imageDir(imagesDir: string, id: string): string {
  return join(imagesDir, id);
}

export function rootfsPath(imagesDir: string, id: string): string {
  return join(imagesDir, id, 'rootfs');
}

export function lockPath(imagesDir: string, id: string): string {
  return join(imagesDir, `${id}.lock`);
}

/** Complete iff manifest.json exists: it is written before the directory is renamed in. */
export function isImageBuilt(imagesDir: string, id: string): boolean {
  return existsSync(join(imagesDir, id, 'manifest.json')) && existsSync(rootfsPath(imagesDir, id));
}

export async function readManifest(imagesDir: string, id: string): Promise<ImageManifest> {
  return JSON.parse(await readFile(join(imagesDir, id, 'manifest.json'), 'utf8')) as ImageManifest;
}

/** Removes build dirs of `id` left by crashed builders. Only call while holding the image lock. */
async function removeStaleBuilds(imagesDir: string, id: string): Promise<string[]> {
  const prefix = `.build-${id}-`;
  const stale = (await readdir(imagesDir)).filter((name) => name.startsWith(prefix));
  for (const name of stale) await removeTree(join(imagesDir, name));
  return stale;
}

/** Runs debootstrap, forwarding its I:/W:/E: lines; on failure the error carries its log tail. */
async function debootstrap(img: CatalogImage, target: string, cacheDir: string, mirror: string,
  report: (phase: BuildPhase, message: string) => void): Promise<void> {
  const args = [
    '--variant=minbase', `--include=${img.recipe.packages.join(',')}`, `--cache-dir=${cacheDir}`,
    img.recipe.suite, target, mirror,
  ];
  report('debootstrap', `debootstrap ${args.join(' ')}`);
  // setpriv: debootstrap dies with this process instead of building on as an orphan.
  const [cmd, cmdArgs] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', 'debootstrap', ...args]]
    : ['debootstrap', args];
  const child = spawn(cmd, cmdArgs, {
    env: { ...process.env, ...BUILD_ENV }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const onLine = (line: string) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > 20) tail.shift();
    report('debootstrap', line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  if (code === 0) return;
  const log = await readFile(join(target, 'debootstrap', 'debootstrap.log'), 'utf8').catch(() => '');
  const logTail = log.split('\n').slice(-15).join('\n');
  throw new Error(`debootstrap of ${img.id} failed (exit ${code}):\n${tail.join('\n')}\n${logTail}`.trim());
}

/** Builds the rootfs inside `buildDir` and writes its manifest next to it. */
async function buildInto(img: CatalogImage, buildDir: string, opts: BuildOptions,
  report: (phase: BuildPhase, message: string) => void): Promise<ImageManifest> {
  const started = Date.now();
  const rootfs = join(buildDir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  const cacheDir = join(opts.imagesDir, '.debs');
  await mkdir(cacheDir, { recursive: true });
  const cacheLock = await acquireLock(join(opts.imagesDir, '.debs.lock'), {
    onWait: (pid) => report('wait', `waiting for pid ${pid} to finish using the package cache`),
  });
  try {
    const mirror = opts.mirror ?? process.env.WARREN_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
    await debootstrap(img, rootfs, cacheDir, mirror, report);
  } finally {
    await cacheLock.release();
  }
  if (img.recipe.hostNode) {
    report('node', `installing host Node ${process.version} and npm into /usr/local`);
    await installHostNode(rootfs);
  }
  report('verify', `checking ${img.recipe.verify.map((c) => c[0]).join(', ')}`);
  const outputs = await verifyImage(rootfs, img.recipe.verify);
  for (const [cmd, out] of Object.entries(outputs)) report('verify', `${cmd}: ${out}`);
  const nodeVersion = img.recipe.hostNode ? await chrootRun(rootfs, ['node', '-v']) : null;
  if (nodeVersion !== null && !/^v20\./.test(nodeVersion)) throw new Error(`node in image is ${nodeVersion}, not v20`);
  const npmVersion = img.recipe.hostNode ? await chrootRun(rootfs, ['npm', '-v']) : null;
  report('finalize', 'cleaning apt caches and writing manifest');
  await finalizeRootfs(rootfs);
  const facts = await describeRootfs(rootfs);
  const manifest: ImageManifest = {
    id: img.id, image: img.image, built_at: new Date().toISOString(), build_ms: Date.now() - started,
    ...facts, node_version: nodeVersion, npm_version: npmVersion,
  };
  await writeFile(join(buildDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Ensures image `idOrRef` is built in `opts.imagesDir` and returns its rootfs. Builds at
 * most once per machine; concurrent callers in other processes wait on the lock.
 * Throws AppError INVALID_IMAGE for names not in the catalog.
 */
export async function buildImage(idOrRef: string, opts: BuildOptions): Promise<BuildResult> {
  const img = resolveImage(idOrRef);
  if (!img) throw new AppError('INVALID_IMAGE', `Unknown image: ${idOrRef}`, { field: 'image' });
  const report = (phase: BuildPhase, message: string) => opts.onProgress?.({ image: img.id, phase, message });
  await mkdir(opts.imagesDir, { recursive: true });
  const lock = await acquireLock(lockPath(opts.imagesDir, img.id), {
    onWait: (pid) => report('wait', `pid ${pid} is building ${img.id}; waiting`),
  });
  try {
    const stale = await removeStaleBuilds(opts.imagesDir, img.id);
    if (stale.length) report('prepare', `removed half-built ${stale.join(', ')}`);
    if (isImageBuilt(opts.imagesDir, img.id)) {
      return { rootfs: rootfsPath(opts.imagesDir, img.id), manifest: await readManifest(opts.imagesDir, img.id), built: false };
    }
    const buildDir = join(opts.imagesDir, `.build-${img.id}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    report('prepare', `building ${img.id} (${img.image}) in ${buildDir}`);
    try {
      const manifest = await buildInto(img, buildDir, opts, report);
      // An incomplete <id> dir (no manifest) can only be debris; the rename needs the name free.
      await removeTree(imageDir(opts.imagesDir, img.id));
      await rename(buildDir, imageDir(opts.imagesDir, img.id));
      const mb = (manifest.size_bytes / 1e6).toFixed(0);
      report('done', `${img.id} ready in ${(manifest.build_ms / 1000).toFixed(1)} s, ${mb} MB`);
      return { rootfs: rootfsPath(opts.imagesDir, img.id), manifest, built: true };
    } catch (err) {
      await removeTree(buildDir).catch(() => undefined);
      throw err;
    }
  } finally {
    await lock.release();
  }
}
