/**
 * The workspace's file watchers (runtime.md §7, §12): at most 5 (409 beyond), ids are
 * the lowest free decimal string from "1". Every watcher event (ready, change,
 * overflow) is re-emitted as `event` for the WebSocket hub to broadcast.
 */
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { HOME } from '../process.js';
import { DirectoryWatcher, type WatcherEvent } from './watcher.js';

export const MAX_WATCHERS = 5;

export class WatcherManager extends EventEmitter {
  private readonly watchers = new Map<string, DirectoryWatcher>();

  list(): DirectoryWatcher[] {
    return [...this.watchers.values()];
  }

  get(id: string): DirectoryWatcher | undefined {
    return this.watchers.get(id);
  }

  /** Validates the body (path|root, excludes|exclude) and starts watching. */
  create(body: Record<string, unknown>): DirectoryWatcher {
    const root = watchRoot(body.path ?? body.root);
    const excludes = excludeList(body.excludes ?? body.exclude);
    if (this.watchers.size >= MAX_WATCHERS) {
      throw new AppError('conflict', `Too many watchers (max ${MAX_WATCHERS})`, { limit: MAX_WATCHERS });
    }
    const id = this.freeId();
    const w = new DirectoryWatcher(id, root, excludes);
    this.watchers.set(id, w);
    w.on('event', (e: WatcherEvent) => this.emit('event', e));
    // After the HTTP reply is on its way, tell WebSocket clients the tree is watched.
    setImmediate(() => {
      if (w.active) this.emit('event', { channel: 'watcher', type: 'ready', watcher_id: id, root, dirs: w.dirCount });
    });
    return w;
  }

  delete(id: string): boolean {
    const w = this.watchers.get(id);
    if (!w) return false;
    w.close();
    w.removeAllListeners();
    this.watchers.delete(id);
    return true;
  }

  closeAll(): void {
    for (const id of [...this.watchers.keys()]) this.delete(id);
  }

  private freeId(): string {
    for (let i = 1; ; i++) if (!this.watchers.has(String(i))) return String(i);
  }
}

function watchRoot(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || v.includes('\0')) {
    throw new AppError('bad_request', 'path is required', { field: 'path' });
  }
  const root = isAbsolute(v) ? resolve(v) : resolve(HOME, v);
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new AppError('not_found', `path not found: ${root}`, { field: 'path' });
  }
  if (!st.isDirectory()) throw new AppError('bad_request', `path is not a directory: ${root}`, { field: 'path' });
  return root;
}

function excludeList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new AppError('bad_request', 'excludes must be an array of strings', { field: 'excludes' });
  }
  return list.map((x) => x.trim()).filter((x) => x.length > 0 && x.length <= 256).slice(0, 100);
}
