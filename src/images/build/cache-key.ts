/**
 * Step cache keys (pure). A step's key is sha256 over
 *   - its parent's key (the base image's key for the first step after FROM),
 *   - the step's canonical instruction (substituted; for RUN with the build args it sees),
 *   - for COPY/ADD, the context path, type, mode and content hash of every file it reads
 *     (sorted by path, so the order files were found in does not matter).
 * Keys chain: a changed line changes its key and, through the parent, every key after it;
 * a changed file under a COPY changes that COPY's key and everything after it.
 * `KEY_VERSION` is part of every key so a change of these rules invalidates old entries.
 */
import { createHash } from 'node:crypto';

export const KEY_VERSION = 'warren-build-v1';

/** What a COPY/ADD read from the context, for its key. */
export interface KeyedFile {
  /** Context-relative path, `/`-separated. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (07777). */
  mode: number;
  /** sha256 hex of the content (file) or link target (symlink); empty for directories. */
  sha256: string;
  /** ADD: the file is extracted as an archive. */
  archive?: boolean;
}

export function stepKey(parentKey: string, canonical: string, files: readonly KeyedFile[] = []): string {
  const h = createHash('sha256');
  h.update(`${KEY_VERSION}\0parent\0${parentKey}\0instruction\0${canonical}\0files\0${files.length}\0`);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    h.update(`${JSON.stringify([f.path, f.type, f.mode, f.sha256, f.archive === true])}\n`);
  }
  return `sha256:${h.digest('hex')}`;
}
