/**
 * The bookkeeping of one layer being unpacked (pure logic, no I/O): which path holds what,
 * so the extractor knows before touching the disk whether an entry is safe and what to do.
 *
 * Safety contract: the destination directory is new and private to the extraction, so this
 * map IS its content. An entry may only be written when every ancestor of its path is a
 * directory recorded here (made by this extraction); an ancestor that is a symlink, a file
 * or anything else is refused. Hence no write ever passes through a link, whatever the
 * archive holds (`x -> /etc` then `x/passwd`).
 *
 * Tar semantics kept: a later entry replaces an earlier one at the same path (a directory
 * over a directory only updates its metadata). OCI whiteout semantics kept: a whiteout
 * hides what lower layers have at that name, never what this layer itself has (OCI image
 * spec, "Whiteouts"): `.wh.x` next to this layer's own directory `x` makes `x` opaque, next
 * to its own file `x` changes nothing; an entry `x` arriving after `.wh.x` replaces the
 * whiteout (and a directory then is opaque, so the lower `x` stays hidden).
 */
import { unsafe, invalid, unsupported } from './refusals.js';

export type NodeKind = 'dir' | 'file' | 'symlink' | 'fifo' | 'whiteout';

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

interface TreeNode {
  kind: NodeKind;
  /** Directories and FIFOs: applied at the end (directory times change while children are made). */
  meta?: Meta;
  opaque?: boolean;
}

/** What the extractor must do on disk before writing an entry at a path. */
export type Placement = 'create' | 'replace' | 'merge';

/** What a `.wh.<name>` entry amounts to. */
export type WhiteoutEffect = 'record' | 'opaque' | 'none';

const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4095;
export const OPAQUE_MARKER = '.wh..wh..opq';
export const WHITEOUT_PREFIX = '.wh.';
/** Metadata of AUFS (`.wh..wh.plnk`, `.wh..wh.aufs`): not files of the image; skipped. */
const AUFS_META_PREFIX = '.wh..wh.';

/** Implicit parent directories (no entry of their own) get these. */
export const IMPLICIT_DIR: Meta = { mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) };

/**
 * An entry name as a clean relative path ('' for the layer's root): leading `./` and `/`-runs
 * folded; absolute names and `..` components refused as unsafe.
 */
export function normaliseEntryName(name: string): string {
  if (name.includes('\0')) throw unsafe('An entry name contains a NUL byte');
  if (name.includes('\uFFFD')) throw unsupported('An entry name is not valid UTF-8');
  if (name.startsWith('/')) throw unsafe('An entry has an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe("An entry's path contains '..'");
  for (const p of parts) if (Buffer.byteLength(p) > MAX_NAME_BYTES) throw invalid('An entry name is longer than 255 bytes');
  const path = parts.join('/');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw invalid('An entry path is longer than 4095 bytes');
  return path;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Classifies a normalised path by its last component: a plain entry, a whiteout, an opaque marker or AUFS metadata. */
export function whiteoutKind(path: string): { kind: 'plain' } | { kind: 'opaque'; dir: string }
  | { kind: 'whiteout'; hidden: string } | { kind: 'skip' } {
  const base = baseOf(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: 'plain' };
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir: parentOf(path) };
  if (base.startsWith(AUFS_META_PREFIX)) return { kind: 'skip' };
  const hiddenName = base.slice(WHITEOUT_PREFIX.length);
  if (hiddenName === '' || hiddenName === '.' || hiddenName === '..') throw unsafe('A whiteout names no file');
  const dir = parentOf(path);
  return { kind: 'whiteout', hidden: dir ? `${dir}/${hiddenName}` : hiddenName };
}

export class LayerTree {
  private readonly nodes = new Map<string, TreeNode>();

  /**
   * Checks that every ancestor of `path` is a directory of this layer, and returns the
   * missing ones (shallowest first) after recording them: the caller makes them on disk.
   * An ancestor that is a whiteout of this layer becomes an opaque directory (the lower
   * directory stays hidden). Anything else on the way is refused.
   */
  parents(path: string): string[] {
    const missing: string[] = [];
    let prefix = '';
    const parts = path.split('/');
    for (const part of parts.slice(0, -1)) {
      prefix = prefix ? `${prefix}/${part}` : part;
      const node = this.nodes.get(prefix);
      if (node?.kind === 'dir') continue;
      if (node && node.kind !== 'whiteout') {
        throw unsafe(node.kind === 'symlink' ? 'An entry is written through a symbolic link' : 'An entry is written below something that is not a directory');
      }
      this.nodes.set(prefix, { kind: 'dir', meta: { ...IMPLICIT_DIR }, opaque: node?.kind === 'whiteout' });
      missing.push(prefix);
    }
    return missing;
  }

  /** Records `kind` at `path` (parents already checked) and says what to do about what is there. */
  place(path: string, kind: Exclude<NodeKind, 'whiteout'>, meta?: Meta): Placement {
    const old = this.nodes.get(path);
    if (old?.kind === 'dir' && kind === 'dir') {
      if (meta) old.meta = meta;
      return 'merge';
    }
    if (old?.kind === 'dir') this.dropBelow(path);
    this.nodes.set(path, { kind, meta, opaque: kind === 'dir' && old?.kind === 'whiteout' });
    if (!old) return 'create';
    // whiteouts and FIFOs are only made on disk at the end: nothing to remove for them
    return old.kind === 'whiteout' || old.kind === 'fifo' ? 'create' : 'replace';
  }

  /** A `.wh.` entry for `hidden` (parents already checked). */
  whiteout(hidden: string): WhiteoutEffect {
    const node = this.nodes.get(hidden);
    if (node?.kind === 'dir') {
      node.opaque = true;
      return 'opaque';
    }
    if (node) return 'none';
    this.nodes.set(hidden, { kind: 'whiteout' });
    return 'record';
  }

  /** `dir/.wh..wh..opq`: `dir` (made by parents() if absent) hides the lower layers' contents. */
  markOpaque(dir: string): void {
    if (dir === '') return; // the root of a layer never hides the layers below wholesale
    const node = this.nodes.get(dir);
    if (!node) {
      this.nodes.set(dir, { kind: 'dir', meta: { ...IMPLICIT_DIR }, opaque: true });
      return;
    }
    if (node.kind !== 'dir') throw invalid('An opaque marker is inside something that is not a directory');
    node.opaque = true;
  }

  /**
   * A hard link may only point at a file or symlink this layer made earlier; returns its kind
   * (the link is recorded as the same kind: a link to a symlink is a symlink).
   */
  linkTargetKind(target: string): 'file' | 'symlink' {
    const node = this.nodes.get(target);
    if (node?.kind !== 'file' && node?.kind !== 'symlink') {
      throw unsafe('A hard link points at something that is not an earlier file of this layer');
    }
    return node.kind;
  }

  /** Directories with their metadata, deepest first. */
  directories(): Array<{ path: string; meta: Meta }> {
    const out: Array<{ path: string; meta: Meta }> = [];
    for (const [path, n] of this.nodes) if (n.kind === 'dir') out.push({ path, meta: n.meta ?? IMPLICIT_DIR });
    return out.sort((a, b) => depth(b.path) - depth(a.path));
  }

  /** Paths where a whiteout device must be made (the ones no later entry replaced). */
  whiteouts(): string[] {
    return [...this.nodes].filter(([, n]) => n.kind === 'whiteout').map(([p]) => p);
  }

  fifos(): Array<{ path: string; meta: Meta }> {
    return [...this.nodes].filter(([, n]) => n.kind === 'fifo').map(([path, n]) => ({ path, meta: n.meta ?? IMPLICIT_DIR }));
  }

  opaqueDirs(): string[] {
    return [...this.nodes].filter(([, n]) => n.kind === 'dir' && n.opaque).map(([p]) => p);
  }

  private dropBelow(dir: string): void {
    const prefix = `${dir}/`;
    for (const p of [...this.nodes.keys()]) if (p.startsWith(prefix)) this.nodes.delete(p);
  }
}

function depth(path: string): number {
  let n = 0;
  for (const c of path) if (c === '/') n++;
  return n;
}
