/**
 * Where workspace layers live, and whether they can be cloned copy-on-write.
 *
 * A workspace's writable layer is one ext4 image file; snapshots, restores and forks
 * are copies of that file. On a filesystem with reflinks (XFS with reflink=1, btrfs)
 * a copy is a metadata operation (milliseconds for GiBs); elsewhere it is a streamed
 * copy. Modes:
 *
 * - `native`: the data dir's own filesystem clones (reflink) — layers live in it.
 * - `xfs`: the data dir cannot clone, so Warren keeps a thin (sparse) XFS image
 *   `<dataDir>/storage-pool.xfs` formatted with reflink=1 and loop-mounted at
 *   `<dataDir>/pool`; layers live there. This is how an ext4 host gets copy-on-write.
 * - `copy`: layers live in the data dir and are copied byte by byte (sparse-aware).
 *
 * `auto` (the default) picks native, else xfs when mkfs.xfs is installed, else copy.
 * The choice is recorded in `<dataDir>/storage.json` on first start: a data dir never
 * silently changes mode (its layers would be left behind), and a mismatch with an
 * explicit request is a start-up error. A data dir that already held workspaces
 * before this file existed keeps its layout (`copy`).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tryRun } from '../util/exec.js';
import { isMounted } from './mounts.js';

export type StorageMode = 'native' | 'xfs' | 'copy';
export type StorageRequest = StorageMode | 'auto';

export interface StorageInfo {
  mode: StorageMode;
  /** Directory holding `workspaces/`, `snapshots/` and `scratch/`. */
  root: string;
  /** True when a layer copy is a reflink clone (native, xfs). */
  copyOnWrite: boolean;
  /** Apparent size of the XFS pool image (bytes); 0 for other modes. */
  poolBytes: number;
}

export interface StorageOptions {
  dataDir: string;
  request: StorageRequest;
  /** Apparent size of a new XFS pool image; default: the size of the data dir's filesystem. */
  poolBytes?: number;
}

const STATE_FILE = 'storage.json';
export const POOL_IMAGE = 'storage-pool.xfs';
export const POOL_MOUNT = 'pool';
const MiB = 1024 * 1024;

/** The three directories every mode has under its root. */
export function storageDirs(root: string) {
  return {
    workspaces: join(root, 'workspaces'),
    snapshots: join(root, 'snapshots'),
    /** Temporary images and mount points; emptied at start. */
    scratch: join(root, 'scratch'),
  };
}

/** Parses a size like `500G`, `800M`, `2T` or plain bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new Error(`storage pool size must look like 200G, 512M or a byte count, got ${JSON.stringify(text)}`);
  const unit = { '': 1, K: 1024, M: MiB, G: 1024 * MiB, T: 1024 * 1024 * MiB }[m[2]!.toUpperCase()]!;
  return Number(m[1]) * unit;
}

export function parseStorageRequest(text: string | undefined): StorageRequest {
  const v = (text ?? 'auto').trim();
  if (v === 'auto' || v === 'native' || v === 'xfs' || v === 'copy') return v;
  throw new Error(`--storage must be auto, native, xfs or copy, got ${JSON.stringify(v)}`);
}

/** True when files in `dir` can be cloned with FICLONE (cp --reflink=always succeeds). */
export async function supportsReflink(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const a = join(dir, `.reflink-probe-${process.pid}`);
  const b = `${a}.clone`;
  try {
    await writeFile(a, 'probe');
    return await tryRun('cp', ['--reflink=always', '--', a, b]);
  } finally {
    await rm(a, { force: true });
    await rm(b, { force: true });
  }
}

async function hasCommand(cmd: string): Promise<boolean> {
  return tryRun('sh', ['-c', 'command -v "$1"', 'sh', cmd]);
}

async function recordedMode(dataDir: string): Promise<StorageMode | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as { mode?: unknown };
    if (parsed.mode === 'native' || parsed.mode === 'xfs' || parsed.mode === 'copy') return parsed.mode;
    throw new Error(`${STATE_FILE} names an unknown storage mode`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function recordMode(dataDir: string, mode: StorageMode): Promise<void> {
  const path = join(dataDir, STATE_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify({ mode })}\n`, { mode: 0o600 });
  const fh = await open(tmp, 'r');
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
}

async function chooseMode(o: StorageOptions): Promise<StorageMode> {
  if (o.request !== 'auto') return o.request;
  // A data dir laid out before storage modes existed keeps its layers where they are.
  if (existsSync(join(o.dataDir, 'workspaces'))) return 'copy';
  if (await supportsReflink(join(o.dataDir, '.probe'))) return 'native';
  return (await hasCommand('mkfs.xfs')) ? 'xfs' : 'copy';
}

/** Creates (first time) and mounts the XFS pool image. Idempotent. */
async function mountPool(o: StorageOptions): Promise<{ root: string; bytes: number }> {
  const image = join(o.dataDir, POOL_IMAGE);
  const root = join(o.dataDir, POOL_MOUNT);
  await mkdir(root, { recursive: true, mode: 0o700 });
  if (!existsSync(image)) {
    const fs = await statfs(o.dataDir);
    const bytes = o.poolBytes ?? fs.blocks * fs.bsize;
    const tmp = `${image}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w', 0o600);
    await fh.truncate(Math.floor(bytes / MiB) * MiB);
    await fh.close();
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1,crc=1', tmp], { timeoutMs: 120_000 });
    await rename(tmp, image);
  }
  if (!(await isMounted(root))) {
    await run('mount', ['-t', 'xfs', '-o', 'loop,noatime,nodev,nosuid', image, root]);
  }
  const st = await statfs(root);
  return { root, bytes: st.blocks * st.bsize };
}

/** Decides (or re-reads) the storage mode of a data dir and makes its root ready. */
export async function prepareStorage(o: StorageOptions): Promise<StorageInfo> {
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  const recorded = await recordedMode(o.dataDir);
  if (recorded && o.request !== 'auto' && recorded !== o.request) {
    throw new Error(`the data dir ${o.dataDir} uses storage mode "${recorded}"; it cannot be switched to "${o.request}"`);
  }
  const mode = recorded ?? (await chooseMode(o));
  let info: StorageInfo;
  if (mode === 'xfs') {
    const pool = await mountPool(o);
    info = { mode, root: pool.root, copyOnWrite: true, poolBytes: pool.bytes };
  } else {
    const cow = mode === 'native';
    if (cow && !(await supportsReflink(join(o.dataDir, '.probe')))) {
      throw new Error(`storage mode "native" needs a filesystem with reflinks (XFS, btrfs) under ${o.dataDir}`);
    }
    info = { mode, root: o.dataDir, copyOnWrite: cow, poolBytes: 0 };
  }
  await rm(join(o.dataDir, '.probe'), { recursive: true, force: true });
  if (!recorded) await recordMode(o.dataDir, mode);
  const dirs = storageDirs(info.root);
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true, mode: 0o700 });
  return info;
}

/**
 * Unmounts the XFS pool of a data dir if it is mounted (purge). The sandboxes using
 * it must be gone; a busy pool is detached lazily so purge always finishes.
 */
export async function releaseStorage(dataDir: string): Promise<void> {
  const root = join(dataDir, POOL_MOUNT);
  if (!(await isMounted(root))) return;
  if (!(await tryRun('umount', [root]))) await run('umount', ['-l', root]);
}
