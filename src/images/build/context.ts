/**
 * The build context: a host directory that COPY and ADD read from, as Docker sees it.
 *
 * - `.dockerignore` at its root is honoured with `@balena/dockerignore` (a port of
 *   Docker's own matcher, `!` exceptions and `**` included): excluded paths do not exist
 *   for COPY/ADD, as they would not have been sent to Docker's builder.
 * - A source is context-relative (a leading `/` means the context root). One whose
 *   normalised path climbs out with `..`, or that resolves through a symlink to a place
 *   outside the context, is refused with `BUILD_CONTEXT_ESCAPE`; nothing outside the
 *   context is ever opened. Symlinks *inside* a copied directory are copied as links,
 *   not followed (as Docker does), so they read nothing either.
 * - Wildcards follow Go's filepath.Match as BuildKit uses it: the pattern is matched one
 *   path component at a time (`*` and `?` never cross `/`, `[a-z]`/`[^a]` classes, `\`
 *   escapes; no `**`, braces or extglobs), with `picomatch` matching each component, and
 *   a matched directory is copied whole.
 * - Every file read is hashed (sha256) for the step's cache key; ADD also learns which
 *   top-level files are archives (gzip, bzip2, xz, zstd or tar signatures) to extract.
 *
 * Messages name context-relative paths only, never host paths.
 */
import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, posix, sep } from 'node:path';
import dockerignore, { type Ignore } from '@balena/dockerignore';
import picomatch from 'picomatch';
import { AppError } from '../../contract/errors.js';
import type { KeyedFile } from './cache-key.js';

export interface ContextEntry extends KeyedFile {
  /** The path on the host (inside the context). */
  hostPath: string;
  /** Path below the matched source (`''` for the source itself), `/`-separated. */
  sub: string;
  /** For symlinks: the link's target as stored. */
  linkTarget?: string;
}

export interface SourceMatch {
  /** The matched source, context-relative (`.` for the root). */
  rel: string;
  /** A file source is copied as a file, a directory source as its contents. */
  type: 'file' | 'dir';
  /** The source itself first, then (for a directory) everything below it, by path. */
  entries: ContextEntry[];
  /** Sockets, fifos and device files below a directory source, which are not copied. */
  skipped: number;
}

const MATCH_OPTS = { dot: true, nobrace: true, noextglob: true, noglobstar: true, nonegate: true, posix: false } as const;
const CHUNK = 1024 * 1024;

function escapeError(source: string): AppError {
  return new AppError('BUILD_CONTEXT_ESCAPE', `COPY/ADD source ${JSON.stringify(source)} is outside the build context`, { field: 'dockerfile' });
}

function notFound(message: string): AppError {
  return new AppError('BUILD_SOURCE_NOT_FOUND', message, { field: 'dockerfile' });
}

export function hasWildcards(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** Normalises a source to a context-relative path; refuses `..` climbing out. */
export function contextRelative(source: string): string {
  const n = posix.normalize(source.replace(/^\/+/, '') || '.');
  if (n === '..' || n.startsWith('../')) throw escapeError(source);
  return n.replace(/\/+$/, '') || '.';
}

export class BuildContext {
  private readonly exceptions: boolean;

  private constructor(
    readonly root: string,
    private readonly ignorer: Ignore,
    patterns: string,
  ) {
    this.exceptions = /^\s*!/m.test(patterns);
  }

  /** Opens `dir` (must be a directory) and reads its `.dockerignore`. */
  static async open(dir: string): Promise<BuildContext> {
    let root: string;
    try {
      root = await realpath(dir);
      if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new AppError('validation_error', 'the build context is not a readable directory', { field: 'context' });
    }
    let patterns = '';
    const file = join(root, '.dockerignore');
    const st = await lstat(file).catch(() => null);
    if (st?.isFile()) patterns = await readFile(file, 'utf8');
    // The package is CommonJS: under NodeNext its factory is the module's `default` property.
    return new BuildContext(root, dockerignore.default().add(patterns), patterns);
  }

  /** Whether `.dockerignore` hides `rel` (a directory with `!` exceptions below may still hold visible files). */
  ignored(rel: string): boolean {
    return rel !== '.' && this.ignorer.ignores(rel);
  }

  private visible(rel: string, isDir: boolean): boolean {
    return !this.ignored(rel) || (isDir && this.exceptions);
  }

  /** Resolves one COPY/ADD source (after substitution) to what it reads. */
  async resolve(source: string, opts: { detectArchives?: boolean; signal?: AbortSignal } = {}): Promise<SourceMatch[]> {
    const rel = contextRelative(source);
    const rels = hasWildcards(rel) ? await this.glob(source, rel) : [rel];
    const out: SourceMatch[] = [];
    for (const r of rels) {
      const m = await this.collect(source, r, opts);
      if (m) out.push(m);
    }
    if (out.length === 0) {
      throw notFound(
        hasWildcards(rel)
          ? `no files in the build context match ${JSON.stringify(source)}`
          : `${JSON.stringify(source)} is not in the build context (or is excluded by .dockerignore)`,
      );
    }
    return out;
  }

  /** The real host path of `rel`, refusing anything that resolves outside; null when missing. */
  private async inside(source: string, rel: string): Promise<string | null> {
    let real: string;
    try {
      real = await realpath(join(this.root, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notFound(`${JSON.stringify(source)} is a symlink loop`);
      throw err;
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) throw escapeError(source);
    return real;
  }

  /** Context-relative matches of a wildcard source, component by component, sorted. */
  private async glob(source: string, rel: string): Promise<string[]> {
    const parts = rel.split('/');
    const first = parts.findIndex(hasWildcards);
    const prefix = parts.slice(0, first).join('/') || '.';
    const matchers = parts.slice(first).map((p) => picomatch(p, MATCH_OPTS));
    const base = await this.inside(source, prefix);
    if (base === null) return [];
    const found: string[] = [];
    const walk = async (dir: string, dirRel: string, depth: number): Promise<void> => {
      const matcher = matchers[depth];
      if (!matcher) return;
      const children = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
      for (const child of children.sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const childRel = dirRel === '.' ? child.name : `${dirRel}/${child.name}`;
        if (!matcher(child.name) || !this.visible(childRel, child.isDirectory())) continue;
        if (depth === matchers.length - 1) found.push(childRel);
        else if (child.isDirectory()) await walk(join(dir, child.name), childRel, depth + 1);
      }
    };
    await walk(base, prefix, 0);
    return found;
  }

  /** One matched source: followed if a symlink (inside the context), then read. */
  private async collect(source: string, rel: string, opts: { detectArchives?: boolean; signal?: AbortSignal }): Promise<SourceMatch | null> {
    const real = await this.inside(source, rel);
    if (real === null) return null;
    const realRel = real === this.root ? '.' : real.slice(this.root.length + 1).split(sep).join('/');
    const st = await lstat(real);
    if (!this.visible(rel, st.isDirectory()) || !this.visible(realRel, st.isDirectory())) return null;
    if (st.isFile()) {
      const { sha256, archive } = await hashFile(real, opts.detectArchives === true);
      const entry: ContextEntry = { path: rel, sub: '', type: 'file', mode: st.mode & 0o7777, sha256, hostPath: real };
      if (archive) entry.archive = true;
      return { rel, type: 'file', entries: [entry], skipped: 0 };
    }
    if (!st.isDirectory()) throw notFound(`${JSON.stringify(source)} is not a regular file or directory`);
    const top: ContextEntry = { path: rel, sub: '', type: 'dir', mode: st.mode & 0o7777, sha256: '', hostPath: real };
    const tree = { entries: [] as ContextEntry[], skipped: 0 };
    await this.walkTree(real, rel, '', tree, opts.signal);
    if (this.ignored(rel) && tree.entries.length === 0) return null;
    return { rel, type: 'dir', entries: [top, ...tree.entries], skipped: tree.skipped };
  }

  /** Everything below a directory source, depth first, by name; links are not followed. */
  private async walkTree(dir: string, dirRel: string, dirSub: string, out: { entries: ContextEntry[]; skipped: number }, signal?: AbortSignal): Promise<void> {
    const children = await readdir(dir, { withFileTypes: true });
    for (const child of children.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      signal?.throwIfAborted();
      const hostPath = join(dir, child.name);
      const rel = dirRel === '.' ? child.name : `${dirRel}/${child.name}`;
      const sub = dirSub === '' ? child.name : `${dirSub}/${child.name}`;
      const st = await lstat(hostPath);
      if (!this.visible(rel, st.isDirectory())) continue;
      const base = { path: rel, sub, mode: st.mode & 0o7777, hostPath };
      if (st.isDirectory()) {
        const at = out.entries.length;
        out.entries.push({ ...base, type: 'dir', sha256: '' });
        await this.walkTree(hostPath, rel, sub, out, signal);
        // An excluded directory shows only for the exceptions found below it.
        if (this.ignored(rel) && out.entries.length === at + 1) out.entries.pop();
      } else if (st.isFile()) {
        out.entries.push({ ...base, type: 'file', sha256: (await hashFile(hostPath, false)).sha256 });
      } else if (st.isSymbolicLink()) {
        const linkTarget = await readlink(hostPath);
        out.entries.push({ ...base, type: 'symlink', sha256: createHash('sha256').update(linkTarget).digest('hex'), linkTarget });
      } else {
        out.skipped++;
      }
    }
  }
}

/** sha256 of a regular file (opened without following links); optionally its archive signature. */
export async function hashFile(path: string, detectArchive: boolean): Promise<{ sha256: string; archive: boolean }> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(CHUNK);
    let archive = false;
    let first = true;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      if (first && detectArchive) archive = isArchive(buf.subarray(0, bytesRead));
      first = false;
      h.update(buf.subarray(0, bytesRead));
    }
    return { sha256: h.digest('hex'), archive };
  } finally {
    await fh.close();
  }
}

/** gzip, bzip2, xz, zstd magic, or a ustar header: what ADD extracts (Docker's DetectCompression + tar). */
export function isArchive(head: Buffer): boolean {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || starts(0x28, 0xb5, 0x2f, 0xfd)) return true;
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}
