/**
 * Writes the entries of one layer tar into a directory, LayerTree (src/images/oci/layer-tree.ts)
 * deciding before every write whether it is allowed (see src/images/oci/extract.ts for the
 * contract). It uses synchronous fs calls on purpose: it runs in a worker thread
 * (src/images/oci/extract-worker.ts), where blocking stalls nothing else, and on this kind of
 * host an async call costs a thread-pool round trip (~0.15 ms) per open/chmod/utimes/close —
 * for a layer of small files that doubled the time tar -x takes.
 */
import {
  closeSync, constants as FS, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync,
  rmSync, symlinkSync, writeSync, chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type tar from 'tar-stream';
import { LayerTree, normaliseEntryName, whiteoutKind, type Meta, type Placement } from './layer-tree.js';
import { makeSpecialFiles, markOpaque } from './specials.js';
import { invalid, tooLarge, unsafe, unsupported } from './refusals.js';
import type { LayerLimits } from './layer-types.js';

const WRITE_FLAGS = FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL | FS.O_NOFOLLOW;

interface PaxHeaders {
  uid?: string;
  gid?: string;
  mtime?: string;
}

type Header = Omit<tar.Header, 'pax'> & { pax?: PaxHeaders | null };

/** Writes the entries of one layer tar into `root`, LayerTree deciding what is allowed. */
export class LayerWriter {
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
      this.makeParents(path);
      this.tree.markOpaque(wh.dir);
      return;
    }
    if (wh.kind === 'whiteout') {
      this.makeParents(path);
      this.tree.whiteout(wh.hidden);
      return;
    }
    const meta = metaOf(h);
    if (path === '') {
      if (h.type !== 'directory') throw invalid("A layer's root entry is not a directory");
      this.rootMeta = meta;
      return;
    }
    this.makeParents(path);
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
  private makeParents(path: string): void {
    for (const dir of this.tree.parents(path)) mkdirSync(this.abs(dir), { mode: 0o700 });
  }

  /** Removes what a replaced entry left on disk (rm never follows links). */
  private clear(path: string, placement: Placement): void {
    if (placement === 'replace') rmSync(this.abs(path), { recursive: true, force: true });
  }

  /** Directories are made owner-only; their owner, mode and times are set in finish(). */
  private directory(path: string, meta: Meta): void {
    const placement = this.tree.place(path, 'dir', meta);
    if (placement === 'merge') return;
    this.clear(path, placement);
    mkdirSync(this.abs(path), { mode: 0o700 });
  }

  private async file(path: string, meta: Meta, size: number, body: Readable): Promise<void> {
    this.bytes += size;
    if (this.bytes > this.limits.maxUnpackedBytes) {
      throw tooLarge(`A layer unpacks to more than ${Math.round(this.limits.maxUnpackedBytes / 1048576)} MiB`);
    }
    this.clear(path, this.tree.place(path, 'file'));
    const fd = openSync(this.abs(path), WRITE_FLAGS, 0o600);
    try {
      for await (const chunk of body) writeAll(fd, chunk as Buffer);
      // new files are root's (the extraction runs as root; parents have no setgid bit yet)
      if (meta.uid !== 0 || meta.gid !== 0) fchownSync(fd, meta.uid, meta.gid);
      fchmodSync(fd, meta.mode); // after chown, which clears setuid/setgid
      futimesSync(fd, meta.mtime, meta.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private symlink(path: string, meta: Meta, target: string): void {
    if (target === '') throw invalid('A symbolic link has no target');
    this.clear(path, this.tree.place(path, 'symlink'));
    symlinkSync(target, this.abs(path));
    if (meta.uid !== 0 || meta.gid !== 0) lchownSync(this.abs(path), meta.uid, meta.gid);
    lutimesSync(this.abs(path), meta.mtime, meta.mtime);
  }

  private hardlink(path: string, linkname: string): void {
    const target = normaliseEntryName(linkname);
    const kind = this.tree.linkTargetKind(target);
    if (target === path) return;
    this.clear(path, this.tree.place(path, kind));
    linkSync(this.abs(target), this.abs(path));
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
    for (const d of dirs) {
      lchownSync(d.path, d.meta.uid, d.meta.gid);
      chmodSync(d.path, d.meta.mode); // a real directory of this layer: no link to follow
      lutimesSync(d.path, d.meta.mtime, d.meta.mtime);
    }
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

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off);
}
