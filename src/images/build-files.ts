/**
 * COPY, ADD and WORKDIR of a Dockerfile build: a new layer made on the host in a staging
 * directory of the layer store, from the build context and the image below it.
 *
 * Nothing here follows a link it should not:
 * - context files are opened with O_NOFOLLOW (the context was checked when it was read,
 *   not now) and must still be regular files;
 * - destinations are resolved inside the image as a chroot would (image-paths.ts), over
 *   the image mounted read-only; an image symlink such as `/bin -> usr/bin` is followed
 *   within the image, never onto the host; the layer's files are created with O_EXCL;
 * - ADD archives are extracted by the jailed tar (src/storage/jail.ts) into a scratch
 *   directory, stripped of device files, fifos and sockets, then moved into the layer.
 *
 * A directory the new files go into that exists in the image gets its metadata from the
 * image (overlayfs shows a directory's attributes from its topmost layer, so a copy with
 * other attributes would change the image's directory). Ownership: `chown` (resolved in
 * the image's own /etc/passwd and /etc/group, src/agent/users.ts) for everything added or
 * created, else root — except archive members, which keep theirs unless `chown` is set.
 */
import { constants, type Stats } from 'node:fs';
import { chmod, chown, copyFile, lchown, lstat, lutimes, mkdir, open, readdir, rename, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { AppError } from '../contract/errors.js';
import { resolveUser } from '../agent/users.js';
import { untarJailed } from '../storage/jail.js';
import { tarVerdict } from './tar-verdict.js';
import type { AddEntry } from './build/types.js';
import { hostPathOf, ImagePathError, resolveInImage } from './image-paths.js';

const COPY_CHUNK = 1024 * 1024;

interface Owner {
  uid: number;
  gid: number;
}

function stepError(message: string): AppError {
  return new AppError('BUILD_STEP_FAILED', message, { field: 'dockerfile' });
}

function pathError(err: unknown): unknown {
  return err instanceof ImagePathError ? stepError(`${err.path}: ${err.reason === 'loop' ? 'too many levels of symbolic links' : 'a parent is not a directory'} in the image`) : err;
}

/** Numeric owner of `spec` in the image mounted at `root`; its passwd and group copied to `scratch` first. */
export async function ownerIn(root: string, spec: string, scratch: string): Promise<Owner> {
  const etc = join(scratch, 'etc');
  await mkdir(etc, { recursive: true });
  for (const name of ['passwd', 'group']) {
    const r = await resolveInImage(root, `/etc/${name}`, true).catch(() => null);
    if (r?.st?.isFile()) await copyFile(hostPathOf(root, r.path), join(etc, name), constants.COPYFILE_EXCL);
  }
  try {
    const u = resolveUser(spec, etc);
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    throw stepError(`--chown=${spec}: ${(err as Error).message}`);
  }
}

/** Writes one step's entries into `layer`, looking at the image mounted (read-only) at `root`. */
export class LayerWriter {
  /** Entries written (0: the layer would change nothing). */
  written = 0;
  /** Directories made in the layer that exist in the image: their attributes are the image's. */
  private readonly fromImage = new Map<string, Stats>();
  private archives = 0;

  constructor(
    private readonly root: string,
    private readonly layer: string,
    private readonly owner: Owner | null,
    private readonly scratch: string,
  ) {}

  private get ids(): Owner {
    return this.owner ?? { uid: 0, gid: 0 };
  }

  async add(e: AddEntry): Promise<void> {
    try {
      switch (e.kind) {
        case 'file': return await this.addFile(e);
        case 'dir': return await this.addDir(e.dest, e.mode);
        case 'symlink': return await this.addSymlink(e.dest, e.target);
        case 'archive': return await this.addArchive(e.hostPath, e.dest);
      }
    } catch (err) {
      throw pathError(err);
    }
  }

  /** Gives the directories taken from the image their attributes back (after every write into them). */
  async finish(): Promise<void> {
    const dirs = [...this.fromImage.entries()].sort(([a], [b]) => b.length - a.length);
    for (const [p, st] of dirs) {
      const host = hostPathOf(this.layer, p);
      await chown(host, st.uid, st.gid);
      await chmod(host, st.mode & 0o7777);
      await utimes(host, st.atime, st.mtime);
    }
  }

  /** Whether `p` (resolved) is a directory in the layer being made or else in the image. */
  private async isDir(p: string): Promise<boolean> {
    const inLayer = await lstat(hostPathOf(this.layer, p)).catch(() => null);
    if (inLayer) return inLayer.isDirectory();
    const r = await resolveInImage(this.root, p, true);
    return r.st?.isDirectory() === true;
  }

  /** The resolved location of `dest`: its parent resolved in the image (links followed), then its name. */
  private async place(dest: string): Promise<string> {
    const parent = await resolveInImage(this.root, posix.dirname(dest), true);
    if (parent.st && !parent.st.isDirectory()) throw stepError(`${posix.dirname(dest)} is not a directory in the image`);
    return posix.join(parent.path, posix.basename(dest));
  }

  /** Makes every missing ancestor of `p` in the layer: with the image's attributes, or new (0755, owner). */
  private async ensureParents(p: string): Promise<void> {
    let cur = '/';
    for (const comp of posix.dirname(p).split('/').filter(Boolean)) {
      cur = posix.join(cur, comp);
      await this.ensureDir(cur, 0o755);
    }
  }

  /** `p` (resolved, parents present) as a directory in the layer; true when it is new to the image. */
  private async ensureDir(p: string, mode: number): Promise<boolean> {
    const host = hostPathOf(this.layer, p);
    const inLayer = await lstat(host).catch(() => null);
    if (inLayer?.isDirectory()) return false;
    if (inLayer) await rm(host, { recursive: true, force: true });
    const inImage = await lstat(hostPathOf(this.root, p)).catch(() => null);
    await mkdir(host, { mode: 0o755 });
    if (inImage?.isDirectory()) {
      this.fromImage.set(p, inImage);
      return false;
    }
    await chown(host, this.ids.uid, this.ids.gid);
    await chmod(host, mode);
    return true;
  }

  /** Removes whatever this step already put at `p` (a later entry wins). */
  private async clear(p: string): Promise<void> {
    await rm(hostPathOf(this.layer, p), { recursive: true, force: true });
  }

  private async addFile(e: Extract<AddEntry, { kind: 'file' }>): Promise<void> {
    let dest = e.dest;
    if (e.destIfDir) {
      const r = await resolveInImage(this.root, e.dest, true);
      if (await this.isDir(r.path)) dest = e.destIfDir;
    }
    const at = await this.place(dest);
    if (await this.isDirInLayerOrImage(at)) throw stepError(`cannot copy a file onto the directory ${dest}`);
    await this.ensureParents(at);
    await this.clear(at);
    const src = await openSource(e.hostPath);
    try {
      const st = await src.stat();
      const out = await open(hostPathOf(this.layer, at), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        await copyContent(src, out);
        await out.chown(this.ids.uid, this.ids.gid);
        await out.chmod(e.mode & 0o7777); // after chown, which clears set-id bits
        await out.utimes(st.atime, st.mtime);
      } finally {
        await out.close();
      }
    } finally {
      await src.close();
    }
    this.written++;
  }

  private async isDirInLayerOrImage(p: string): Promise<boolean> {
    const inLayer = await lstat(hostPathOf(this.layer, p)).catch(() => null);
    if (inLayer) return inLayer.isDirectory();
    return (await lstat(hostPathOf(this.root, p)).catch(() => null))?.isDirectory() === true;
  }

  /** A directory entry: followed if the image has a link there; an existing one is left as it is. */
  private async addDir(dest: string, mode: number): Promise<void> {
    const r = await resolveInImage(this.root, dest, true);
    if (r.st && !r.st.isDirectory()) throw stepError(`${dest} exists in the image and is not a directory`);
    if (r.st) return; // exists: keeps its attributes; made in the layer only when something goes in
    await this.ensureParents(r.path);
    if (await this.ensureDir(r.path, mode & 0o7777)) this.written++;
  }

  private async addSymlink(dest: string, target: string): Promise<void> {
    const at = await this.place(dest);
    await this.ensureParents(at);
    await this.clear(at);
    const host = hostPathOf(this.layer, at);
    await symlink(target, host);
    await lchown(host, this.ids.uid, this.ids.gid);
    this.written++;
  }

  /** ADD of a local archive: extracted (jailed) in scratch, cleaned, then merged under `dest`. */
  private async addArchive(hostPath: string, dest: string): Promise<void> {
    const r = await resolveInImage(this.root, dest, true);
    if (r.st && !r.st.isDirectory()) throw stepError(`ADD: ${dest} exists in the image and is not a directory`);
    await this.ensureParents(r.path);
    if (await this.ensureDir(r.path, 0o755)) this.written++;
    const tmp = join(this.scratch, `archive-${this.archives++}`);
    await mkdir(tmp, { mode: 0o700 });
    const head = Buffer.alloc(6);
    const probe = await openSource(hostPath);
    try {
      await probe.read(head, 0, 6, 0);
    } finally {
      await probe.close();
    }
    // The stream closes its own handle when it ends or fails.
    const input = (await openSource(hostPath)).createReadStream();
    await untarJailed(tmp, input, ['--numeric-owner', ...decompressFlag(head)], 'ADD extraction').catch((err: Error) => {
      throw stepError(`ADD: the archive could not be extracted${tarVerdict(err)}`);
    });
    this.written += await cleanTree(tmp, this.owner);
    await mergeInto(tmp, hostPathOf(this.layer, r.path));
  }
}

/** A context file, never through a symlink, and only if it still is a regular file. */
async function openSource(hostPath: string): Promise<FileHandle> {
  const fh = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (!fh) throw stepError('a COPY/ADD source changed while the build ran');
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw stepError('a COPY/ADD source changed while the build ran');
  }
  return fh;
}

/** Copies the whole content of `src` into `out` (both open; neither closed). */
async function copyContent(src: FileHandle, out: FileHandle): Promise<void> {
  const buf = Buffer.alloc(COPY_CHUNK);
  for (let pos = 0; ;) {
    const { bytesRead } = await src.read(buf, 0, COPY_CHUNK, pos);
    if (bytesRead === 0) return;
    let done = 0;
    while (done < bytesRead) done += (await out.write(buf, done, bytesRead - done)).bytesWritten;
    pos += bytesRead;
  }
}

/** tar's flag for the compression `head` (the archive's first bytes) shows. */
export function decompressFlag(head: Buffer): string[] {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return ['-z'];
  if (starts(0x42, 0x5a, 0x68)) return ['-j'];
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return ['-J'];
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return ['--zstd'];
  return [];
}

/**
 * Removes device files, fifos and sockets (a layer holds none but whiteouts), sets the
 * owner when one is given; returns the entries kept.
 */
async function cleanTree(dir: string, owner: Owner | null): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await lstat(p);
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) {
      await rm(p, { force: true });
      continue;
    }
    if (st.isDirectory()) n += await cleanTree(p, owner);
    if (owner) {
      await lchown(p, owner.uid, owner.gid);
      if (!st.isSymbolicLink()) await chmod(p, st.mode & 0o7777); // chown clears set-id bits
      if (st.isSymbolicLink()) await lutimes(p, st.atime, st.mtime);
    }
    n++;
  }
  return n;
}

/** Moves the tree `from` into the directory `to`: directories merge, anything else replaces. */
async function mergeInto(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const [s, d] = [await lstat(src), await lstat(dst).catch(() => null)];
    if (s.isDirectory() && d?.isDirectory()) {
      await mergeInto(src, dst);
      continue;
    }
    if (d) await rm(dst, { recursive: true, force: true });
    await rename(src, dst);
  }
}
