/**
 * The layers a Dockerfile build adds to the layer store:
 * - `filesLayer`: COPY/ADD/WORKDIR entries written on the host (build-files.ts);
 * - `runLayer`: a RUN step's writable layer (a tar of its workspace's overlay upper),
 *   extracted in the jail like a commit (layer-from-tar.ts), minus what the sandbox
 *   itself put there: the `/.warren` mount point, the `/etc/resolv.conf` Warren writes at
 *   every boot, and directories left empty that the image has with the same owner and
 *   mode (copied up because something in them changed and changed back).
 * Both digest the staged directory (layer-digest.ts) and, under the store lock, commit it
 * and hold the new state for the running build (build-holds.ts). Null: nothing changed.
 */
import { lstat, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { run as runTool } from '../util/exec.js';
import type { AddEntry, BuildState } from './build/types.js';
import { LayerWriter, ownerIn } from './build-files.js';
import type { BuildHolds } from './build-holds.js';
import { withImageMounted } from './catalog-build.js';
import { digestLayerDir } from './layer-digest.js';
import { layerFromUpperTar } from './layer-from-tar.js';
import type { LayerStore } from './layer-store.js';
import { hostPathOf, resolveInImage } from './image-paths.js';

/** The first line of the resolv.conf the sandbox driver writes (src/drivers/ns/resolv.ts). */
const WARREN_RESOLV = '# Written by Warren: the workspace resolver';

export interface LayerContext {
  store: LayerStore;
  holds: BuildHolds;
}

/**
 * The image of `layers` as a read-only tree for `fn`: mounted read-only, or an empty
 * directory when it has no layer (FROM scratch).
 */
async function withImage<T>(store: LayerStore, layers: string[], fn: (root: string) => Promise<T>): Promise<T> {
  if (layers.length > 0) return withImageMounted(store, layers, fn);
  const staging = await store.stage();
  try {
    return await fn(staging.path);
  } finally {
    await staging.discard();
  }
}

/** Digests `dir`, commits it and holds parent + it; returns the digest. */
async function commit(c: LayerContext, parent: BuildState, dir: string): Promise<string> {
  const digest = await digestLayerDir(dir);
  await c.store.locked(async () => {
    await c.store.commitLayer(dir, digest);
    await c.holds.holdLocked({ layers: [...parent.layers, digest], config: parent.config });
  });
  return digest;
}

export async function filesLayer(c: LayerContext, parent: BuildState, entries: AddEntry[], opts: { chown?: string; signal: AbortSignal }): Promise<string | null> {
  const staging = await c.store.stage();
  try {
    const dir = join(staging.path, 'layer');
    const scratch = join(staging.path, 'scratch');
    await mkdir(dir, { mode: 0o755 });
    await mkdir(scratch, { mode: 0o700 });
    const written = await withImage(c.store, parent.layers, async (root) => {
      const owner = opts.chown === undefined ? null : await ownerIn(root, opts.chown, scratch);
      const w = new LayerWriter(root, dir, owner, scratch);
      for (const e of entries) {
        opts.signal.throwIfAborted();
        await w.add(e);
      }
      await w.finish();
      return w.written;
    });
    if (written === 0) return null;
    return await commit(c, parent, dir);
  } finally {
    await staging.discard();
  }
}

export async function runLayer(c: LayerContext, parent: BuildState, upperTar: Readable): Promise<string | null> {
  const staging = await c.store.stage();
  try {
    const dir = await layerFromUpperTar(staging.path, upperTar);
    await rm(join(dir, '.warren'), { recursive: true, force: true });
    await dropWarrenResolvConf(dir);
    const empty = await emptyDirs(dir, '/');
    if (empty.length > 0) await withImage(c.store, parent.layers, (root) => pruneUnchanged(dir, root, empty));
    if ((await readdir(dir)).length === 0) return null;
    return await commit(c, parent, dir);
  } finally {
    await staging.discard();
  }
}

async function dropWarrenResolvConf(dir: string): Promise<void> {
  const p = join(dir, 'etc', 'resolv.conf');
  const st = await lstat(p).catch(() => null);
  if (!st?.isFile() || st.size > 4096) return;
  if ((await readFile(p, 'utf8')).startsWith(WARREN_RESOLV)) await rm(p);
}

/** Empty directories under `rel` (in-layer paths), deepest first; a directory whose children all are such counts too. */
async function emptyDirs(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  const names = await readdir(hostPathOf(root, rel));
  let allEmpty = true;
  for (const name of names) {
    const child = posix.join(rel, name);
    const st = await lstat(hostPathOf(root, child));
    if (!st.isDirectory()) {
      allEmpty = false;
      continue;
    }
    const below = await emptyDirs(root, child);
    out.push(...below);
    if (below[below.length - 1] !== child) allEmpty = false;
  }
  if (allEmpty && rel !== '/') out.push(rel);
  return out;
}

/** Removes each candidate (deepest first) that is no opaque mark and matches the image's directory. */
async function pruneUnchanged(layer: string, image: string, candidates: string[]): Promise<void> {
  for (const p of candidates) {
    const host = hostPathOf(layer, p);
    if ((await readdir(host).catch(() => ['?'])).length > 0) continue;
    const mine = await lstat(host);
    // The image's directory at exactly this path (no symlink on the way: never the host's).
    const r = await resolveInImage(image, p, false);
    const theirs = r.path === p ? r.st : null;
    if (!theirs?.isDirectory() || theirs.uid !== mine.uid || theirs.gid !== mine.gid || theirs.mode !== mine.mode) continue;
    if (await isOpaque(host)) continue;
    await rmdir(host);
  }
}

async function isOpaque(path: string): Promise<boolean> {
  const r = await runTool('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.overlay.opaque', path], { timeoutMs: 10_000 })
    .catch(() => null);
  return r !== null && r.stdout.trim() === 'y';
}
