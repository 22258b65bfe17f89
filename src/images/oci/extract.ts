/**
 * Unpacking one OCI layer blob into a directory in Warren's layer format (overlayfs lower
 * layer: whiteouts as character devices 0:0, opaque directories marked with
 * trusted.overlay.opaque=y; see docs/ARCHITECTURE.md, image store).
 *
 * Contracts:
 * - The blob is streamed once (src/images/oci/blob-stream.ts): its sha256 and size are
 *   checked against the manifest's descriptor, the sha256 of the uncompressed tar against
 *   the config's diff_id. A mismatch refuses the layer (IMAGE_ARCHIVE_INVALID).
 * - Nothing is ever written outside `destDir`: every entry's path is checked by LayerTree
 *   (no absolute names, no `..`, no ancestor that is a symlink or file, hard links only to
 *   this layer's earlier files) before the disk is touched; files are created with
 *   O_EXCL|O_NOFOLLOW; `destDir` is created here, new and private to this call.
 * - Device nodes (character/block) are refused: in an OCI layer whiteouts are `.wh.` files.
 * - Over `limits.maxUnpackedBytes` of file content or `limits.maxEntries` entries the layer
 *   is refused (IMAGE_TOO_LARGE) as soon as the header that crosses the cap is read.
 * - On any failure `destDir` is removed before the promise rejects.
 * - Kept: numeric owners, modes (setuid/setgid/sticky too), mtimes, symlinks (targets never
 *   followed; absolute ones are normal in images), hard links, FIFOs. Not kept: the
 *   archive's xattrs (file capabilities: tar-stream decodes PAX values as UTF-8, so binary
 *   ones cannot be carried faithfully). Names that are not UTF-8 are refused
 *   (IMAGE_ARCHIVE_UNSUPPORTED) rather than renamed.
 */
import { constants as FS } from 'node:fs';
import { open, mkdir, rm, symlink, link, lchown, lutimes, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { LayerTree, normaliseEntryName, whiteoutKind, type Meta, type Placement } from './layer-tree.js';
import { makeSpecialFiles, markOpaque } from './specials.js';
import { openTar } from './blob-stream.js';
import { asLayerError, invalid, tooLarge, unsafe, unsupported } from './refusals.js';

export interface LayerLimits {
  /** Largest total of file bytes one layer may unpack to. */
  maxUnpackedBytes: number;
  /** Most entries (files, dirs, links, whiteouts) one layer may have. */
  maxEntries: number;
}

/** A layer blob of an opened archive (see OciSource in src/images/oci/open.ts). */
export interface OciLayer {
  /** sha256 of the blob as stored (compressed or not), from the manifest. */
  digest: string;
  mediaType: string;
  /** Bytes of the blob, from the manifest. */
  size: number;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string;
  blobPath: string;
}

export interface ExtractResult {
  diffId: string;
  /** Bytes of file content written. */
  bytes: number;
  /** Tar entries read (PAX and GNU long-name headers not counted). */
  entries: number;
}

const WRITE_FLAGS = FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW;
const DIR_FINISH_WIDTH = 16;

/** The most uncompressed tar bytes a layer within `limits` can take (content + headers + padding). */
export function maxTarBytes(limits: LayerLimits): number {
  return limits.maxUnpackedBytes + (limits.maxEntries + 1) * 3 * 512 + 1024 * 1024;
}

/** Unpacks `layer` into `destDir` (which must not exist yet). See the module contract. */
export async function extractLayer(layer: OciLayer, destDir: string, limits: LayerLimits): Promise<ExtractResult> {
  await mkdir(destDir, { mode: 0o755 });
  try {
    return await unpack(layer, destDir, limits);
  } catch (err) {
    await rm(destDir, { recursive: true, force: true });
    throw asLayerError(err, `Layer ${layer.digest.slice(7, 19)}`);
  }
}

async function unpack(layer: OciLayer, destDir: string, limits: LayerLimits): Promise<ExtractResult> {
  const source = await openTar(layer.blobPath, layer.size, maxTarBytes(limits));
  const extract = tar.extract();
  const writer = new LayerWriter(destDir, limits);
  const parsing = pipeline(source.tar, extract as unknown as NodeJS.WritableStream);
  try {
    await Promise.all([source.done, parsing, writer.consume(extract)]);
  } catch (err) {
    source.abort();
    await Promise.allSettled([source.done, parsing]);
    throw err;
  }
  const d = source.digests();
  const short = layer.digest.slice(7, 19);
  if (d.blobBytes !== layer.size || d.blob !== layer.digest) throw invalid(`Layer ${short} does not match its digest`);
  if (d.tar !== layer.diffId) throw invalid(`Layer ${short} does not match its diff_id in the image config`);
  await writer.finish();
  return { diffId: layer.diffId, bytes: writer.bytes, entries: writer.entries };
}

interface PaxHeaders {
  uid?: string;
  gid?: string;
  mtime?: string;
}

type Header = Omit<tar.Header, 'pax'> & { pax?: PaxHeaders | null };

/** Writes the entries of one layer tar into `root`, LayerTree deciding what is allowed. */
class LayerWriter {
  private readonly tree = new LayerTree();
  private rootMeta: Meta | null = null;
  bytes = 0;
  entries = 0;

  constructor(private readonly root: string, private readonly limits: LayerLimits) {}

  async consume(extract: tar.Extract): Promise<void> {
    for await (const entry of extract) {
      await this.entry(entry.header as Header, entry as unknown as Readable);
      entry.resume(); // drains what an entry had left (whiteout bodies, skipped entries)
    }
  }

  private abs(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  private async entry(h: Header, body: Readable): Promise<void> {
    if (++this.entries > this.limits.maxEntries) throw tooLarge(`A layer has more than ${this.limits.maxEntries} entries`);
    const path = normaliseEntryName(h.name);
    if (h.type === 'character-device' || h.type === 'block-device') throw unsafe('A layer contains a device node');
    const wh = whiteoutKind(path);
    if (wh.kind === 'skip') return;
    if (wh.kind !== 'plain' && h.type === 'directory') throw invalid('A whiteout is a directory');
    if (wh.kind === 'opaque') {
      await this.makeParents(path);
      this.tree.markOpaque(wh.dir);
      return;
    }
    if (wh.kind === 'whiteout') {
      await this.makeParents(path);
      this.tree.whiteout(wh.hidden);
      return;
    }
    const meta = metaOf(h);
    if (path === '') {
      if (h.type !== 'directory') throw invalid("A layer's root entry is not a directory");
      this.rootMeta = meta;
      return;
    }
    await this.makeParents(path);
    switch (h.type) {
      case 'directory': return this.directory(path, meta);
      case 'file':
      case 'contiguous-file': return this.file(path, meta, h.size ?? 0, body);
      case 'symlink': return this.symlink(path, meta, h.linkname ?? '');
      case 'link': return this.hardlink(path, h.linkname ?? '');
      case 'fifo': return this.clear(path, this.tree.place(path, 'fifo', meta));
      default: throw unsupported(`A layer has a tar entry of a type Warren does not unpack (${String(h.type)})`);
    }
  }

  /** Makes the ancestors of `path` that no entry made (LayerTree refuses any that is not a directory). */
  private async makeParents(path: string): Promise<void> {
    for (const dir of this.tree.parents(path)) await mkdir(this.abs(dir), { mode: 0o700 });
  }

  /** Removes what a replaced entry left on disk (rm never follows links). */
  private async clear(path: string, placement: Placement): Promise<void> {
    if (placement === 'replace') await rm(this.abs(path), { recursive: true, force: true });
  }

  /** Directories are made owner-only; their owner, mode and times are set in finish(). */
  private async directory(path: string, meta: Meta): Promise<void> {
    const placement = this.tree.place(path, 'dir', meta);
    if (placement === 'merge') return;
    await this.clear(path, placement);
    await mkdir(this.abs(path), { mode: 0o700 });
  }

  private async file(path: string, meta: Meta, size: number, body: Readable): Promise<void> {
    this.bytes += size;
    if (this.bytes > this.limits.maxUnpackedBytes) {
      throw tooLarge(`A layer unpacks to more than ${Math.round(this.limits.maxUnpackedBytes / 1048576)} MiB`);
    }
    await this.clear(path, this.tree.place(path, 'file'));
    const fh = await open(this.abs(path), WRITE_FLAGS, 0o600);
    try {
      for await (const chunk of body) await fh.write(chunk as Buffer);
      // new files are root's (the extraction runs as root; parents have no setgid bit yet)
      if (meta.uid !== 0 || meta.gid !== 0) await fh.chown(meta.uid, meta.gid);
      await fh.chmod(meta.mode); // after chown, which clears setuid/setgid
      await fh.utimes(meta.mtime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  private async symlink(path: string, meta: Meta, target: string): Promise<void> {
    if (target === '') throw invalid('A symbolic link has no target');
    await this.clear(path, this.tree.place(path, 'symlink'));
    await symlink(target, this.abs(path));
    await lchown(this.abs(path), meta.uid, meta.gid);
    await lutimes(this.abs(path), meta.mtime, meta.mtime);
  }

  private async hardlink(path: string, linkname: string): Promise<void> {
    const target = normaliseEntryName(linkname);
    const kind = this.tree.linkTargetKind(target);
    if (target === path) return;
    await this.clear(path, this.tree.place(path, kind));
    await link(this.abs(target), this.abs(path));
  }

  /** After the last entry: whiteouts and FIFOs, opaque marks, then directories' owners, modes, times. */
  async finish(): Promise<void> {
    await makeSpecialFiles(this.root, [
      ...this.tree.whiteouts().map((path) => ({ path, kind: 'whiteout' as const })),
      ...this.tree.fifos().map((f) => ({ path: f.path, kind: 'fifo' as const, meta: f.meta })),
    ]);
    await markOpaque(this.root, this.tree.opaqueDirs());
    const dirs = this.tree.directories().map((d) => ({ path: this.abs(d.path), meta: d.meta }));
    if (this.rootMeta) dirs.push({ path: this.root, meta: this.rootMeta });
    // a child's metadata never changes its parent's mtime, so order does not matter here
    await inParallel(dirs, DIR_FINISH_WIDTH, async (d) => {
      await lchown(d.path, d.meta.uid, d.meta.gid);
      await chmod(d.path, d.meta.mode);
      await lutimes(d.path, d.meta.mtime, d.meta.mtime);
    });
  }
}

/** Owner, permission bits and mtime of an entry; PAX values win (large ids, sub-second times). */
function metaOf(h: Header): Meta {
  const pax = h.pax ?? {};
  const id = (v: string | undefined, dflt: number | undefined) => {
    const n = v === undefined ? (dflt ?? 0) : Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw invalid('A tar entry has an invalid owner');
    return n;
  };
  const mtime = pax.mtime !== undefined ? new Date(Number(pax.mtime) * 1000) : (h.mtime ?? new Date(0));
  if (Number.isNaN(mtime.getTime())) throw invalid('A tar entry has an invalid time');
  return { mode: (h.mode ?? 0o644) & 0o7777, uid: id(pax.uid, h.uid), gid: id(pax.gid, h.gid), mtime };
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
