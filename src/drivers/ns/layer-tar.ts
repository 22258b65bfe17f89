/**
 * Tar streams of writable layers, for archives.
 *
 * Export reads a snapshot image (never the live layer, so the workspace runs on while
 * the archive is written): mounted read-only, it gives either the whole overlay upper
 * (`layer`: whiteouts and overlay xattrs included, so it can be restored as a layer)
 * or, with `paths`, those paths of a read-only overlay of the snapshot on the image
 * (`files`). Import builds a new layer image beside the current one — empty for a
 * `layer` stream, a clone of the current layer for `files` — extracts into it and
 * renames it over `disk.img` only once the whole stream was extracted: a bad stream,
 * a full quota or a crash leaves the old layer untouched.
 *
 * tar always runs in the jail (jail.ts): the files are the workspace's.
 */
import { mkdir, mkdtemp, open, readdir, rename, rm, statfs } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { LayerError, type ExportOptions, type ImportKind, type TarExport } from '../driver.js';
import { cloneFile, TMP_MARK } from '../../storage/clone.js';
import { mountsUnder, unmountAll } from '../../storage/mounts.js';
import { mountOverlay } from '../../storage/overlay.js';
import { exited, spawnJailed, untarJailed } from '../../storage/jail.js';
import { statePaths } from './names.js';
import { hasExt4, makeLayerImage, mountedHere, mountLayerImage, setLayerQuota } from './storage.js';

const TAR = '/usr/bin/tar';
/** Overlay's own xattrs (opaque dirs, redirects) and users'; `origin` names the old lower fs and is dropped. */
const XATTRS = ['--xattrs', '--xattrs-include=trusted.overlay.*', '--xattrs-include=user.*',
  '--xattrs-exclude=trusted.overlay.origin'];

export interface TarIoOptions {
  scratchDir: string;
  copyOnWrite: boolean;
}

/** `/a/b` → `a/b` (paths are validated absolute and normalised by the contract). */
function relative(path: string): string {
  const rel = posix.normalize(path).replace(/^\/+/, '');
  if (rel === '' || rel.startsWith('..')) throw new LayerError('path_missing', `invalid path ${path}`, path);
  return rel;
}

async function removeWork(work: string): Promise<void> {
  for (const m of await mountsUnder(work)) await unmountAll(m);
  await rm(work, { recursive: true, force: true });
}

/** Fails with path_missing for the first member that does not exist in the tree. */
async function requireMembers(root: string, members: string[]): Promise<void> {
  const check = spawnJailed(root, ['/usr/bin/sh', '-c',
    'for p in "$@"; do [ -e "$p" ] || [ -L "$p" ] || { printf "%s" "$p"; exit 3; }; done', 'sh', ...members], false);
  let missing = '';
  check.stdout!.on('data', (d: Buffer) => { missing += d.toString(); });
  check.stdin!.end();
  try {
    await exited(check, 'path check');
  } catch (err) {
    if ((err as { exitCode?: number }).exitCode === 3) {
      throw new LayerError('path_missing', `/${missing} does not exist in the workspace`, `/${missing}`);
    }
    throw err;
  }
}

export async function exportTar(o: TarIoOptions, snapshotImage: string, imageLayers: string[], opts: ExportOptions): Promise<TarExport> {
  const work = await mkdtemp(join(o.scratchDir, 'export-'));
  try {
    const layer = join(work, 'layer');
    const merged = join(work, 'merged');
    await mkdir(layer);
    await mkdir(merged);
    await mountLayerImage(snapshotImage, layer, true);
    let root = join(layer, 'upper');
    let members: string[];
    if (opts.paths?.length) {
      await mountOverlay({ lowers: [...imageLayers, root], target: merged, source: 'warren-export' });
      root = merged;
      members = opts.paths.map(relative);
      await requireMembers(root, members);
    } else {
      members = existsSync(root) ? (await readdir(root)).sort() : [];
      if (!existsSync(root)) root = layer; // never started: an empty layer
    }
    const excludes = (opts.exclude ?? []).map((p) => `--exclude=${relative(p)}`);
    const tar = spawnJailed(root, [TAR, '--numeric-owner', ...XATTRS, '--anchored', '--no-wildcards', ...excludes,
      '-cf', '-', ...(members.length ? ['--', ...members] : ['-T', '/dev/null'])], false);
    tar.stdin!.end();
    const done = exited(tar, 'tar export').finally(() => removeWork(work)).then(() => undefined);
    done.catch(() => undefined); // the caller awaits it; never an unhandled rejection
    return { stream: tar.stdout!, done };
  } catch (err) {
    await removeWork(work);
    throw err;
  }
}

/** Why an extraction into the layer mounted at `fs` failed, as a LayerError when it is the input's fault. */
async function importFailure(err: unknown, fs: string): Promise<unknown> {
  const stderr = String((err as { stderr?: string }).stderr ?? '');
  const st = await statfs(fs).catch(() => null);
  // tar reports a full disk as ENOSPC or as a short write; the quota's free space tells either way.
  if (/No space left on device/.test(stderr) || (st !== null && st.bavail * st.bsize < 1024 * 1024)) {
    return new LayerError('no_space', 'The archive does not fit in the workspace\'s disk quota');
  }
  if (/does not look like a tar archive|Unexpected EOF|Skipping to next header/.test(stderr)) {
    return new LayerError('bad_archive', 'The archive is not a complete tar stream');
  }
  return err;
}

async function extract(target: string, fs: string, input: Readable): Promise<void> {
  await untarJailed(target, input, ['--numeric-owner', ...XATTRS], 'tar import').catch(async (err: unknown) => {
    throw await importFailure(err, fs);
  });
}

export interface ImportInput {
  stateDir: string;
  /** The image's layer directories, base first. */
  imageLayers: string[];
  diskMb: number;
  input: Readable;
  kind: ImportKind;
}

export async function importTar(o: TarIoOptions, i: ImportInput): Promise<void> {
  const p = statePaths(i.stateDir);
  if (mountedHere(p.upperFs) || mountedHere(p.rootfs)) {
    throw new Error('cannot import into the writable layer of a running sandbox; stop it first');
  }
  await mkdir(i.stateDir, { recursive: true, mode: 0o700 });
  const tmpImage = `${p.disk}${TMP_MARK}import-${process.pid}`;
  const work = await mkdtemp(join(o.scratchDir, 'import-'));
  try {
    if (i.kind === 'files' && (await hasExt4(p.disk))) await cloneFile(p.disk, tmpImage, o.copyOnWrite);
    else await makeLayerImage(tmpImage, i.diskMb);
    const fs = join(work, 'fs');
    await mkdir(fs);
    await mountLayerImage(tmpImage, fs, false);
    await setLayerQuota(fs, i.diskMb);
    await mkdir(join(fs, 'upper'), { recursive: true });
    await mkdir(join(fs, 'work'), { recursive: true });
    let target = join(fs, 'upper');
    if (i.kind === 'files') {
      target = join(work, 'merged');
      await mkdir(target);
      await mountOverlay({ lowers: i.imageLayers, upper: `${fs}/upper`, work: `${fs}/work`, target, extra: ['nodev'],
        source: 'warren-import' });
    }
    await extract(target, fs, i.input);
    for (const m of await mountsUnder(work)) await unmountAll(m);
    const fh = await open(tmpImage, 'r');
    await fh.sync().finally(() => fh.close());
    await rename(tmpImage, p.disk);
  } finally {
    await removeWork(work);
    await rm(tmpImage, { force: true });
  }
}
