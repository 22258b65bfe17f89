/**
 * Host-side facts and clean-up of one sandbox that need no driver state: whether a PID is
 * still the sandbox's own process, and removing its state directory without crossing a mount.
 */
import { readFile, rm } from 'node:fs/promises';
import { readMounts } from '../../storage/mounts.js';

/** PID is alive (not a zombie) and a member of the sandbox's cgroup (`cgroupMarker`; guards PID reuse). */
export async function isSandboxProcess(pid: number, cgroupMarker: string): Promise<boolean> {
  try {
    const [cgroup, statText] = await Promise.all([
      readFile(`/proc/${pid}/cgroup`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X' && `\n${cgroup}`.includes(cgroupMarker);
  } catch {
    return false;
  }
}

/** rm -rf that refuses to cross a mount point (a live layer must never be deleted through). */
export async function removeStateDir(stateDir: string): Promise<void> {
  const prefix = `${stateDir.replace(/\/+$/, '')}/`;
  const inside = (await readMounts()).filter((m) => m.mountPoint.startsWith(prefix));
  if (inside.length) throw new Error(`refusing to remove ${stateDir}: still mounted ${inside[0]!.mountPoint}`);
  await rm(stateDir, { recursive: true, force: true });
}
