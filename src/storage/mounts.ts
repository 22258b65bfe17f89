/**
 * The host's mount table as the server sees it (`/proc/self/mountinfo`), and
 * unmounting that never leaves a stacked mount behind. Shared by the drivers and the
 * storage pool.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run, tryRun } from '../util/exec.js';

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

/** The newest mount at `path`, if any (its source names the loop device of a loop mount). */
export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const target = resolve(path);
  return (await readMounts()).filter((m) => m.mountPoint === target).pop();
}

/** Unmounts every layer of the point (stacked mounts included); lazy as a last resort. */
export async function unmountAll(path: string): Promise<void> {
  for (let i = 0; i < 8 && (await isMounted(path)); i++) {
    if (!(await tryRun('umount', [path]))) await run('umount', ['-l', path]);
  }
  if (await isMounted(path)) throw new Error(`could not unmount ${path}`);
}

/** Mount points strictly below `dir`, deepest first (for unmounting a tree). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = `${resolve(dir)}/`;
  return (await readMounts()).map((m) => m.mountPoint).filter((p) => p.startsWith(prefix)).reverse();
}
