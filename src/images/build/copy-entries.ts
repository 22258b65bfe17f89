/**
 * Where COPY/ADD put what they read (pure), with Docker's (BuildKit's) destination rules:
 * - a file goes to `dest`, or into it when `dest` ends with `/` (or is `.`) or is an
 *   existing directory in the image (decided by the port: `destIfDir`);
 * - a directory source copies its *contents* into `dest` (created when missing);
 * - several sources (or a wildcard matching several) need a directory `dest` (trailing `/`);
 * - ADD extracts a local archive into the directory `dest`; COPY never extracts;
 * - `--chmod` sets the mode of every file and directory copied.
 */
import { posix } from 'node:path';
import type { KeyedFile } from './cache-key.js';
import type { SourceMatch } from './context.js';
import { invalid } from './dockerfile.js';
import type { StepAction } from './plan.js';
import type { AddEntry } from './types.js';

type CopyAction = Extract<StepAction, { kind: 'copy' }>;

export function addEntries(matches: SourceMatch[], action: CopyAction, line: number): { entries: AddEntry[]; files: KeyedFile[] } {
  const keyword = action.add ? 'ADD' : 'COPY';
  if (matches.length > 1 && !action.destIsDir) {
    throw invalid(line, `${keyword} matched more than one source, so its destination must be a directory ending in /`);
  }
  const entries: AddEntry[] = [];
  const files: KeyedFile[] = [];
  for (const m of matches) {
    for (const e of m.entries) {
      const keyed: KeyedFile = { path: e.path, type: e.type, mode: e.mode, sha256: e.sha256 };
      if (e.archive && action.add) keyed.archive = true;
      files.push(keyed);
    }
    if (m.type === 'file') entries.push(fileEntry(m, action));
    else entries.push(...dirEntries(m, action));
  }
  return { entries, files };
}

function fileEntry(m: SourceMatch, action: CopyAction): AddEntry {
  const e = m.entries[0];
  if (!e || e.type !== 'file') throw new Error('a file source has one file entry');
  if (action.add && e.archive) return { kind: 'archive', hostPath: e.hostPath, dest: action.dest };
  const mode = action.chmod ?? e.mode;
  const inside = posix.join(action.dest, posix.basename(m.rel));
  if (action.destIsDir) return { kind: 'file', hostPath: e.hostPath, dest: inside, mode };
  return { kind: 'file', hostPath: e.hostPath, dest: action.dest, destIfDir: inside, mode };
}

function dirEntries(m: SourceMatch, action: CopyAction): AddEntry[] {
  return m.entries.map((e): AddEntry => {
    const dest = e.sub === '' ? action.dest : posix.join(action.dest, e.sub);
    switch (e.type) {
      case 'dir':
        return { kind: 'dir', dest, mode: action.chmod ?? e.mode };
      case 'symlink':
        return { kind: 'symlink', dest, target: e.linkTarget ?? '' };
      case 'file':
        return { kind: 'file', hostPath: e.hostPath, dest, mode: action.chmod ?? e.mode };
    }
  });
}
