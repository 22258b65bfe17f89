/**
 * The writable layer of a sandbox: a sparse ext4 image (`disk.img`) loop-mounted at
 * `upper-fs`, and an overlay of the image's read-only rootfs (lower, never copied)
 * with `upper-fs/upper` at `rootfs`.
 *
 * The disk quota. Every image has the same large apparent size (LAYER_IMAGE_MB, thin:
 * only written blocks take space), and the quota is ext4's in-kernel reservation
 * (`/sys/fs/ext4/<loop>/reserved_clusters`): every block beyond `diskMb` is reserved,
 * so a write past the quota gets ENOSPC inside the image — never a full host disk —
 * whatever the writer's privileges (the reservation binds CAP_SYS_RESOURCE too, which
 * overlayfs writes carry when the mounter has it). Growing the quota is one write of
 * that file, online; resize2fs could not do it here (it needs CAP_SYS_RESOURCE).
 * The reservation lives in memory, so `mountLayers` sets it on every mount, before
 * anything else can write.
 */
import { mkdir, open, readlink, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { statfsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { run, tryRun } from '../../util/exec.js';
import { cloneFile, TMP_MARK } from '../../storage/clone.js';
import { unmountAll } from '../../storage/mounts.js';
import { mountOverlay, overlayOptions } from '../../storage/overlay.js';
import { statePaths } from './names.js';

const MiB = 1024 * 1024;
const EXT4_MAGIC_OFFSET = 1080;
const EXT4_MAGIC = 0xef53;
/** Apparent size of every layer image: the largest quota a layer can grow to online. */
export const LAYER_IMAGE_MB = 256 * 1024;
/** One inode per 64 KiB of apparent size (4 M inodes), allocated lazily. */
const BYTES_PER_INODE = '65536';

export async function hasExt4(disk: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(disk, 'r');
  } catch {
    return false;
  }
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, EXT4_MAGIC_OFFSET);
    return bytesRead === 2 && buf.readUInt16LE(0) === EXT4_MAGIC;
  } finally {
    await fh.close();
  }
}

/** Makes a fresh, empty layer image at `path` (sparse, formatted). */
export async function makeLayerImage(path: string, diskMb: number): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.truncate(Math.max(diskMb, LAYER_IMAGE_MB) * MiB);
  } finally {
    await fh.close();
  }
  // -m 0: no root-reserved blocks (the quota is the reservation set at mount).
  await run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', '-m', '0', '-i', BYTES_PER_INODE,
    '-E', 'root_owner=0:0', path]);
}

export interface LayerSeed {
  /** Image file to clone when the sandbox has no layer yet. */
  image: string;
  copyOnWrite: boolean;
}

/**
 * Creates the layer image once — empty (a copy of the template in `templateDir` when given), or a
 * clone of `seed` — and the mount-point directories. Idempotent; an existing layer is never touched.
 */
export async function ensureDisk(stateDir: string, diskMb: number, seed?: LayerSeed, templateDir?: string): Promise<void> {
  const p = statePaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(p.upperFs, { recursive: true });
  await mkdir(p.rootfs, { recursive: true });
  if (await hasExt4(p.disk)) return;
  if (seed) {
    await cloneFile(seed.image, p.disk, seed.copyOnWrite);
    return;
  }
  // Made beside its final name, then renamed: a crash never leaves a half-made layer.
  const tmp = `${p.disk}${TMP_MARK}${process.pid}`;
  try {
    if (templateDir && diskMb <= LAYER_IMAGE_MB) await copySparse(await emptyLayerTemplate(templateDir), tmp);
    else await makeLayerImage(tmp, diskMb);
    await rename(tmp, p.disk);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Bumped when makeLayerImage's format changes (the scratch dir is emptied at every start anyway). */
const TEMPLATE_NAME = 'empty-layer-v1.img';
const making = new Map<string, Promise<void>>();

/**
 * Every fresh layer up to LAYER_IMAGE_MB is the same empty ext4 image (the quota is set at mount,
 * not by the image's size), so it is formatted once in `dir` (the driver's scratch dir) and each
 * new layer is a sparse copy of it: ≈ 10 ms instead of ≈ 40 ms of mkfs on the create path. The
 * copies share a filesystem UUID, which ext4 does not mind. Made atomically (tmp + rename), once
 * at a time per path.
 */
export async function emptyLayerTemplate(dir: string): Promise<string> {
  const path = join(dir, TEMPLATE_NAME);
  if (await hasExt4(path)) return path;
  let pending = making.get(path);
  if (!pending) {
    pending = (async () => {
      const tmp = `${path}${TMP_MARK}${process.pid}`;
      try {
        await makeLayerImage(tmp, LAYER_IMAGE_MB);
        await rename(tmp, path);
      } finally {
        await rm(tmp, { force: true });
      }
    })().finally(() => making.delete(path));
    making.set(path, pending);
  }
  await pending;
  return path;
}

/** A copy that keeps holes (the image is 256 GiB apparent, a few MiB written). */
async function copySparse(src: string, dest: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', '--', src, dest]);
}

/**
 * The loop device holding a mounted layer (e.g. `loop7`), or undefined when unmounted: the
 * block device the mount's st_dev names (`/sys/dev/block/<major>:<minor>`), not a mount-table read.
 */
async function loopDevice(upperFs: string): Promise<string | undefined> {
  if (!mountedHere(upperFs)) return undefined;
  const dev = statSync(upperFs).dev;
  const major = Math.floor(dev / 256) & 0xfff; // Linux's new_encode_dev: minor's low byte, major, minor's high bits
  const minor = (dev & 0xff) | (Math.floor(dev / 0x100000) << 8);
  const name = basename(await readlink(`/sys/dev/block/${major}:${minor}`).catch(() => ''));
  return name.startsWith('loop') ? name : undefined;
}

/**
 * Limits the mounted layer to `diskMb` in total (used + free), online. A quota below
 * what is already used leaves no free space; files are never removed.
 */
export async function setLayerQuota(upperFs: string, diskMb: number): Promise<void> {
  const dev = await loopDevice(upperFs);
  if (!dev) throw new Error(`no layer image is mounted at ${upperFs}`);
  const fs = await statfs(upperFs);
  const wanted = Math.floor((diskMb * MiB) / fs.bsize);
  const reserve = Math.max(0, fs.blocks - wanted);
  await writeFile(`/sys/fs/ext4/${dev}/reserved_clusters`, String(reserve));
}

/** A layer image smaller than LAYER_IMAGE_MB (made before quotas were reservations) is enlarged offline. */
async function enlargeOldImage(disk: string, diskMb: number): Promise<void> {
  const size = (await stat(disk)).size;
  const want = Math.max(diskMb, LAYER_IMAGE_MB) * MiB;
  if (size >= want) return;
  await run('e2fsck', ['-f', '-p', disk], { timeoutMs: 10 * 60_000 });
  const fh = await open(disk, 'r+');
  try {
    await fh.truncate(want);
  } finally {
    await fh.close();
  }
  await run('resize2fs', [disk], { timeoutMs: 10 * 60_000 });
}

/** Loop-mounts a layer image; `noinit_itable`: the kernel would otherwise zero every inode table of the thin image. */
export async function mountLayerImage(image: string, at: string, readOnly: boolean): Promise<void> {
  const opts = readOnly ? 'loop,ro,noload,nodev,nosuid,noexec' : 'loop,nodev,nosuid,noatime,noinit_itable';
  await run('mount', ['-t', 'ext4', '-o', opts, image, at]);
}

/** Loop-mounts the writable layer (quota applied) and overlays it on the image's layers (base first). Idempotent. */
export async function mountLayers(stateDir: string, imageLayers: string[], overlaySource: string, diskMb: number): Promise<void> {
  const p = statePaths(stateDir);
  const upper = `${p.upperFs}/upper`;
  const work = `${p.upperFs}/work`;
  overlayOptions({ lowers: imageLayers, upper, work, target: p.rootfs }); // refuses unusable paths before any mount
  // mountedHere, not the mount table: reading /proc/self/mountinfo costs the kernel time
  // in proportion to every mount on the host (≈ 3 per workspace), twice per create.
  if (!mountedHere(p.upperFs)) {
    await enlargeOldImage(p.disk, diskMb);
    await mountLayerImage(p.disk, p.upperFs, false);
  }
  await setLayerQuota(p.upperFs, diskMb);
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  if (!mountedHere(p.rootfs)) {
    for (const lower of imageLayers) await stat(lower); // a readable error if a layer is missing
    await mountOverlay({ lowers: imageLayers, upper, work, target: p.rootfs, extra: ['nodev'], source: overlaySource });
  }
}

/** Unmounts overlay then the loop filesystem; the disk image stays. Idempotent. */
export async function unmountLayers(stateDir: string): Promise<void> {
  const p = statePaths(stateDir);
  await unmountLayerPoint(p.rootfs);
  await unmountLayerPoint(p.upperFs);
}

/**
 * Unmounts every mount stacked at a layer mount point (the overlay or the loop ext4), judged by
 * `mountedHere` rather than the mount table, whose reading costs in proportion to the host's
 * mounts: a delete at 1,000 workspaces would otherwise read ≈ 3,000 entries several times.
 */
async function unmountLayerPoint(dir: string): Promise<void> {
  for (let i = 0; i < 8 && mountedHere(dir); i++) {
    if (!(await tryRun('umount', [dir]))) await run('umount', ['-l', dir]);
  }
  if (mountedHere(dir)) throw new Error(`could not unmount ${dir}`);
}

/** Unmounts by mount point alone (residue cleanup knows no stateDir contents). */
export async function unmountPoint(mountPoint: string): Promise<void> {
  await unmountAll(mountPoint);
}

/**
 * Whether a file system is mounted at `dir`: its device differs from its parent's. Two
 * stat() calls instead of parsing the mount table, which grows with every workspace — the
 * stats samplers ask this for each live workspace every second, so the calls (and the
 * statfs after them) are synchronous: metadata answered from memory, cheaper than a
 * promise round trip each. Sound for the layer mounts (a loop ext4 and an overlay: each
 * its own device), which is all the driver asks it about (mounting, quota, unmounting,
 * snapshots); a bind mount of the same file system would not show, so the generic unmount
 * paths (residue, scratch trees) keep reading the mount table.
 */
export function mountedHere(dir: string): boolean {
  try {
    return statSync(dir).dev !== statSync(dirname(dir)).dev;
  } catch {
    return false;
  }
}

/** Bytes used / quota of the writable layer. Unmounted: allocated bytes of the image. */
export async function diskUsage(stateDir: string, diskMb: number): Promise<{ used: number; limit: number }> {
  const p = statePaths(stateDir);
  if (mountedHere(p.upperFs)) {
    const s = statfsSync(p.upperFs); // answered by the kernel from memory; see mountedHere
    const used = (s.blocks - s.bfree) * s.bsize;
    return { used, limit: used + s.bavail * s.bsize };
  }
  try {
    const s = await stat(p.disk);
    return { used: s.blocks * 512, limit: diskMb * MiB };
  } catch {
    return { used: 0, limit: diskMb * MiB };
  }
}

/** Writes everything the layer holds in memory to its image (syncfs). */
export async function syncLayer(stateDir: string): Promise<void> {
  const p = statePaths(stateDir);
  if (mountedHere(p.upperFs)) await run('sync', ['-f', p.upperFs]);
}
