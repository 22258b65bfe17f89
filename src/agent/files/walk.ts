/**
 * Streaming directory walk for listing, NDJSON streaming and filename search. Entries
 * are produced one at a time from `opendir` (never a whole directory or tree in memory);
 * callers stop by breaking out of the `for await`. Symlinks are reported, not followed,
 * so a link cycle cannot make the walk loop.
 */
import { opendir } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMatcher } from './glob.js';

export interface WalkOptions {
  /** Descend into subdirectories. */
  recursive: boolean;
  /** Deepest level yielded; direct children of the root are depth 1. */
  maxDepth: number;
  /** Matched against root-relative paths; an ignored directory is not entered. */
  ignore?: IgnoreMatcher;
  /** Skip names starting with "." (and do not descend into them). */
  skipHidden?: boolean;
}

/** Kernel pseudo-filesystems under "/": listed, never descended into. */
const PSEUDO_ROOT_DIRS = new Set(['proc', 'sys', 'dev']);

export interface WalkEntry {
  name: string;
  path: string;
  /** Relative to the walk root, no leading slash. */
  rel: string;
  depth: number;
  type: 'file' | 'directory' | 'symlink' | 'other';
}

export function direntType(d: Dirent): WalkEntry['type'] {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isDirectory()) return 'directory';
  if (d.isFile()) return 'file';
  return 'other';
}

/** Yields every entry under `root` (not the root itself), parents before children. */
export async function* walk(root: string, opts: WalkOptions, depth = 1, relBase = ''): AsyncGenerator<WalkEntry> {
  let dir;
  try {
    dir = await opendir(root, { bufferSize: 64 });
  } catch (err) {
    if (depth === 1) throw err;
    return; // an unreadable or vanished subdirectory is skipped, not fatal
  }
  try {
    for await (const d of dir) {
      if (opts.skipHidden && d.name.startsWith('.')) continue;
      const type = direntType(d);
      const rel = relBase ? `${relBase}/${d.name}` : d.name;
      if (opts.ignore?.ignores(rel, type === 'directory')) continue;
      const path = join(root, d.name);
      yield { name: d.name, path, rel, depth, type };
      const pseudo = root === '/' && PSEUDO_ROOT_DIRS.has(d.name);
      if (type === 'directory' && opts.recursive && depth < opts.maxDepth && !pseudo) {
        yield* walk(path, opts, depth + 1, rel);
      }
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}
