/**
 * Paths inside an image, resolved the way a chroot into the image would resolve them,
 * from the host, over the image's root mounted read-only (catalog-build.ts
 * withImageMounted). Every component is looked at with lstat; a symlink is followed by
 * reading it and continuing *inside the root* (an absolute target restarts at the image's
 * `/`, `..` never climbs above it), so `/bin -> usr/bin` leads to `<root>/usr/bin` and a
 * link to `/etc` leads to the image's /etc, never the host's. The host path handed back
 * has no symlink in it (but possibly in its last component when `followLast` is false).
 */
import type { Stats } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Symlinks followed in one resolution before giving up (Linux's limit). */
const MAX_LINKS = 40;

export class ImagePathError extends Error {
  constructor(readonly path: string, readonly reason: 'loop' | 'not_directory') {
    super(reason === 'loop' ? `${path}: too many levels of symbolic links` : `${path}: a parent is not a directory`);
    this.name = 'ImagePathError';
  }
}

export interface Resolved {
  /** The resolved path inside the image (absolute, normalised, no symlinks but maybe the last). */
  path: string;
  /** lstat of it in the image, or null when it does not exist. */
  st: Stats | null;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** The host path of an in-image path (already resolved) under `root`. */
export function hostPathOf(root: string, inImage: string): string {
  return join(root, posix.normalize(`/${inImage}`));
}

/**
 * Resolves absolute in-image `path` under `root`. Missing components are kept as written
 * (normalised); a missing path is not an error. `followLast`: a final symlink is followed.
 */
export async function resolveInImage(root: string, path: string, followLast: boolean): Promise<Resolved> {
  const todo = posix.normalize(`/${path}`).split('/').filter((c) => c !== '' && c !== '.');
  let cur = '/';
  let links = 0;
  while (todo.length > 0) {
    const comp = todo.shift()!;
    if (comp === '..') {
      cur = posix.dirname(cur);
      continue;
    }
    const next = posix.join(cur, comp);
    const st = await lstatOrNull(hostPathOf(root, next));
    if (st === null) {
      // Missing: the rest cannot be links in the image; keep it as written.
      const rest = posix.normalize(posix.join(next, ...todo));
      return { path: rest.startsWith('/') ? rest : `/${rest}`, st: null };
    }
    const last = todo.length === 0;
    if (st.isSymbolicLink() && (!last || followLast)) {
      if (++links > MAX_LINKS) throw new ImagePathError(path, 'loop');
      const target = await readlink(hostPathOf(root, next));
      if (target.startsWith('/')) cur = '/';
      todo.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
      continue;
    }
    if (!last && !st.isDirectory()) throw new ImagePathError(path, 'not_directory');
    cur = next;
    if (last) return { path: cur, st };
  }
  return { path: cur, st: await lstatOrNull(hostPathOf(root, cur)) };
}
