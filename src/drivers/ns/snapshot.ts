/**
 * Snapshot = a sparse copy of the writable-layer image (`disk.img`). Process state is
 * not kept. While the layer is mounted, the sandbox's processes are frozen (cgroup
 * freezer) and the ext4 is fsfreeze'd, so the copy is a consistent file system image.
 */
import { rename, rm, stat, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from '../../util/exec.js';
import type { SandboxCgroups } from './cgroups.js';
import { statePaths } from './names.js';
import { isMounted } from './storage.js';

async function sparseCopy(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    await run('cp', ['--sparse=always', '--', src, tmp], { timeoutMs: 30 * 60_000 });
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Bytes the copy really occupies on disk (it is sparse; the apparent size is the quota). */
async function allocatedBytes(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}

export async function snapshotDisk(stateDir: string, cg: SandboxCgroups, dest: string): Promise<{ bytes: number }> {
  const p = statePaths(stateDir);
  await stat(p.disk); // readable error when there is no layer
  await mkdir(dirname(dest), { recursive: true });
  if (!(await isMounted(p.upperFs))) {
    await sparseCopy(p.disk, dest);
    return { bytes: await allocatedBytes(dest) };
  }
  const wasFrozen = (await cg.freezerState()) === 'FROZEN';
  if (!wasFrozen && cg.exists()) await cg.setFrozen(true);
  try {
    await run('fsfreeze', ['--freeze', p.upperFs]);
    try {
      await sparseCopy(p.disk, dest);
    } finally {
      await run('fsfreeze', ['--unfreeze', p.upperFs]);
    }
  } finally {
    if (!wasFrozen && cg.exists()) await cg.setFrozen(false);
  }
  return { bytes: await allocatedBytes(dest) };
}

/** Replaces the writable layer with a snapshot. The sandbox must be stopped (layer unmounted). */
export async function restoreDisk(stateDir: string, src: string): Promise<void> {
  const p = statePaths(stateDir);
  if ((await isMounted(p.upperFs)) || (await isMounted(p.rootfs))) {
    throw new Error('cannot restore the writable layer of a running sandbox; stop it first');
  }
  const fh = await open(src, 'r');
  try {
    const magic = Buffer.alloc(2);
    await fh.read(magic, 0, 2, 1080);
    if (magic.readUInt16LE(0) !== 0xef53) throw new Error(`${src} is not a writable-layer snapshot`);
  } finally {
    await fh.close();
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await sparseCopy(src, p.disk);
}
