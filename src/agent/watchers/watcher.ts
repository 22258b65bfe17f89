/**
 * A recursive file watcher (runtime.md §7): one non-recursive fs.watch per directory
 * (inotify underneath), new subdirectories are added as they appear and removed ones
 * dropped. Excluded names (defaults always merged in) are neither entered nor
 * reported. Changes are debounced per path for 50 ms, last op wins, and emitted as
 * `change` events; the directory count and pending set are bounded (`overflow`).
 */
import { EventEmitter } from 'node:events';
import { watch, readdirSync, lstatSync, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const DEFAULT_EXCLUDES = [
  'node_modules', '.git', '.svn', '.hg', '__pycache__', '.pytest_cache', '.mypy_cache',
  '.next', '.nuxt', 'dist', 'build', '.DS_Store', '*.swp', '*.swo', '*~',
];
export const DEBOUNCE_MS = 50;
/** Directories watched by one watcher at most (inotify watches are a shared kernel resource). */
export const MAX_DIRS = 8192;
/** Distinct paths waiting for their debounce at most; beyond, events are dropped with `overflow`. */
const MAX_PENDING = 4096;

export type ChangeOp = 'create' | 'write' | 'remove' | 'rename' | 'unknown';

export interface WatcherEvent {
  channel: 'watcher';
  type: 'ready' | 'change' | 'overflow';
  watcher_id: string;
  [key: string]: unknown;
}

export class DirectoryWatcher extends EventEmitter {
  readonly createdAt = new Date().toISOString();
  readonly excludes: string[];
  active = true;
  private readonly dirs = new Map<string, FSWatcher>();
  private readonly pending = new Map<string, ChangeOp>();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly matchers: ((name: string) => boolean)[];
  private overflowed = false;

  constructor(readonly id: string, readonly root: string, extraExcludes: string[]) {
    super();
    this.excludes = [...new Set([...DEFAULT_EXCLUDES, ...extraExcludes])];
    this.matchers = this.excludes.map(nameMatcher);
    this.addTree(root);
  }

  get dirCount(): number {
    return this.dirs.size;
  }

  close(): void {
    this.active = false;
    for (const w of this.dirs.values()) w.close();
    this.dirs.clear();
    this.pending.clear();
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      root: this.root,
      path: this.root,
      recursive: true,
      dirs: this.dirs.size,
      dir_count: this.dirs.size,
      excludes: this.excludes,
      active: this.active,
      created_at: this.createdAt,
    };
  }

  isExcluded(path: string): boolean {
    const rel = relative(this.root, path);
    if (rel === '') return false;
    return rel.split(sep).some((part) => this.matchers.some((m) => m(part)));
  }

  /** Watches `dir` and every non-excluded directory below it (no symlinks followed). */
  private addTree(dir: string, reportFiles = false): void {
    const stack = [dir];
    while (stack.length > 0) {
      const d = stack.pop() as string;
      if (this.dirs.has(d) || !this.watchDir(d)) continue;
      let entries;
      try {
        entries = readdirSync(d, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        const full = join(d, e.name);
        if (this.isExcluded(full)) continue;
        if (e.isDirectory()) stack.push(full);
        // Files created inside a brand-new directory before we watched it.
        if (reportFiles) this.queue(full, 'create');
      }
    }
  }

  private watchDir(dir: string): boolean {
    if (this.dirs.size >= MAX_DIRS) {
      this.overflow(`directory limit ${MAX_DIRS} reached; ${dir} and further directories are not watched`);
      return false;
    }
    try {
      const w = watch(dir, { persistent: false }, (type, name) => this.onRaw(dir, type, name));
      w.on('error', () => this.dropDir(dir));
      this.dirs.set(dir, w);
      return true;
    } catch {
      return false;
    }
  }

  private dropDir(dir: string): void {
    for (const [d, w] of this.dirs) {
      if (d === dir || d.startsWith(dir + sep)) {
        w.close();
        this.dirs.delete(d);
      }
    }
  }

  private onRaw(dir: string, type: string, name: string | Buffer | null): void {
    if (!this.active) return;
    if (name === null) {
      this.queue(dir, 'unknown');
      return;
    }
    const full = join(dir, name.toString());
    if (this.isExcluded(full)) return;
    if (type === 'change') {
      this.queue(full, 'write');
      return;
    }
    // 'rename' covers create, delete and both halves of a move: look at what is there now.
    let st;
    try {
      st = lstatSync(full);
    } catch {
      st = undefined;
    }
    if (!st) {
      if (this.dirs.has(full)) this.dropDir(full);
      this.queue(full, 'remove');
      return;
    }
    if (st.isDirectory() && !this.dirs.has(full)) this.addTree(full, true);
    this.queue(full, 'create');
  }

  private queue(path: string, op: ChangeOp): void {
    if (!this.pending.has(path) && this.pending.size >= MAX_PENDING) {
      this.overflow('too many pending changes; some events were dropped');
      return;
    }
    this.pending.delete(path); // re-insert: order follows the latest change
    this.pending.set(path, op);
    this.flushTimer ??= setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  private flush(): void {
    this.flushTimer = null;
    const batch = [...this.pending];
    this.pending.clear();
    this.overflowed = false;
    for (const [path, op] of batch) {
      this.emit('event', { channel: 'watcher', type: 'change', watcher_id: this.id, path, op } satisfies WatcherEvent);
    }
  }

  private overflow(message: string): void {
    if (this.overflowed) return; // once per debounce window
    this.overflowed = true;
    this.emit('event', { channel: 'watcher', type: 'overflow', watcher_id: this.id, message } satisfies WatcherEvent);
  }
}

/** `*` globs match a whole name; anything else matches a path segment exactly. */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return (name) => name === pattern;
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
  );
  return (name) => re.test(name);
}
