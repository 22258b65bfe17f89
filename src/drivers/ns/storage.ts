/**
 * The writable layer of a sandbox: a sparse ext4 image (`disk.img`, size = the disk
 * quota) loop-mounted at `upper-fs`, and an overlay of the image's read-only rootfs
 * (lower, never copied) with `upper-fs/upper` at `rootfs`. Filling the layer hits
 * ENOSPC inside the image, never the host disk.
 */
import { mkdir, open, readFile, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { run, tryRun } from '../../util/exec.js';
import { statePaths } from './names.js';

const MiB = 1024 * 1024;
const EXT4_MAGIC_OFFSET = 1080;
const EXT4_MAGIC = 0xef53;

export interface MountEntry {
  mountPoint: string;
  fstype: string;
  source: string;
}

/** Decodes the octal escapes (\040 …) mountinfo uses for spaces and friends. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Mounts of the server's mount namespace, in mount order. */
export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, source] = right.split(' ');
    if (mountPoint && fstype && source) {
      out.push({ mountPoint: unescapeMountPath(mountPoint), fstype, source: unescapeMountPath(source) });
    }
  }
  return out;
}

export async function isMounted(path: string): Promise<boolean> {
  const target = resolve(path);
  return (await readMounts()).some((m) => m.mountPoint === target);
}

/** overlayfs splits its options on ',' and ':'; such paths can't be expressed safely. */
function assertOverlaySafe(path: string): void {
  if (/[,:\\\n]/.test(path)) throw new Error(`path not usable in an overlay mount: ${path}`);
}

async function hasExt4(disk: string): Promise<boolean> {
  const fh = await open(disk, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, EXT4_MAGIC_OFFSET);
    return bytesRead === 2 && buf.readUInt16LE(0) === EXT4_MAGIC;
  } finally {
    await fh.close();
  }
}

/** Creates the sparse disk image (formatted once) and the mount-point directories. Idempotent. */
export async function ensureDisk(stateDir: string, diskMb: number): Promise<void> {
  const p = statePaths(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(p.upperFs, { recursive: true });
  await mkdir(p.rootfs, { recursive: true });
  try {
    const fh = await open(p.disk, 'wx', 0o600);
    await fh.truncate(diskMb * MiB);
    await fh.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (await hasExt4(p.disk)) return;
  // -m 0: no root-reserved blocks (the sandbox is root, the whole quota is usable).
  await run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', '-m', '0', '-E', 'root_owner=0:0', p.disk]);
}

/** Loop-mounts the writable layer and overlays it on the image rootfs. Idempotent. */
export async function mountLayers(stateDir: string, imageRootfs: string, overlaySource: string): Promise<void> {
  const p = statePaths(stateDir);
  const lower = resolve(imageRootfs);
  const upper = `${p.upperFs}/upper`;
  const work = `${p.upperFs}/work`;
  for (const path of [lower, upper, work, p.rootfs]) assertOverlaySafe(path);
  if (!(await isMounted(p.upperFs))) {
    await run('mount', ['-t', 'ext4', '-o', 'loop,nodev,nosuid,noatime', p.disk, p.upperFs]);
  }
  await mkdir(upper, { recursive: true });
  await mkdir(work, { recursive: true });
  if (!(await isMounted(p.rootfs))) {
    await stat(lower); // a readable error if the image is missing
    await run('mount', ['-t', 'overlay', overlaySource, '-o',
      `lowerdir=${lower},upperdir=${upper},workdir=${work},nodev`, p.rootfs]);
  }
}

/** Unmounts every layer of the point (stacked mounts included); lazy as a last resort. */
async function unmountAll(path: string): Promise<void> {
  for (let i = 0; i < 8 && (await isMounted(path)); i++) {
    if (!(await tryRun('umount', [path]))) await run('umount', ['-l', path]);
  }
  if (await isMounted(path)) throw new Error(`could not unmount ${path}`);
}

/** Unmounts overlay then the loop filesystem; the disk image stays. Idempotent. */
export async function unmountLayers(stateDir: string): Promise<void> {
  const p = statePaths(stateDir);
  await unmountAll(p.rootfs);
  await unmountAll(p.upperFs);
}

/** Unmounts by mount point alone (residue cleanup knows no stateDir contents). */
export async function unmountPoint(mountPoint: string): Promise<void> {
  await unmountAll(mountPoint);
}

/** Bytes used / size of the writable layer. Unmounted: allocated bytes of the image. */
export async function diskUsage(stateDir: string, diskMb: number): Promise<{ used: number; limit: number }> {
  const p = statePaths(stateDir);
  if (await isMounted(p.upperFs)) {
    const s = await statfs(p.upperFs);
    return { used: (s.blocks - s.bfree) * s.bsize, limit: s.blocks * s.bsize };
  }
  try {
    const s = await stat(p.disk);
    return { used: s.blocks * 512, limit: diskMb * MiB };
  } catch {
    return { used: 0, limit: diskMb * MiB };
  }
}

/** State dirs whose layers are mounted and whose overlay source carries `prefix`. */
export async function mountedStateDirs(prefix: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const m of await readMounts()) {
    if (m.fstype === 'overlay' && m.source.startsWith(prefix)) found.set(m.source.slice(prefix.length), dirname(m.mountPoint));
  }
  return found;
}
