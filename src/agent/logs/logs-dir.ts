/**
 * The workspace's log directory (`WARREN_LOGS_DIR`, default /.warren/logs: a host
 * directory bound writable, counted against the workspace's disk quota):
 *   cmd.log, cmd.log.1                      the workspace command's output
 *   workloads/<wid>.log, workloads/<wid>.log.1   each workload's output
 * The workspace's code can write here too, so listing and reading consider regular files
 * only (lstat, O_NOFOLLOW) and a name is served only if the listing holds it.
 */
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readdirSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { entryToWire, type EntryLog } from './entry-log.js';
import { fileSpan, MAX_TAIL_BYTES, tailEntries } from './tail.js';
import { lstatOrNull, removePath } from './rotating-file.js';

export const DEFAULT_LOGS_DIR = '/.warren/logs';
export const CMD_LOG = 'cmd.log';
export const WORKLOADS_SUBDIR = 'workloads';
/** Cap of cmd.log and cmd.log.1 together. */
export const CMD_LOG_CAP = 8 * 1024 * 1024;

export interface LogFileInfo {
  name: string;
  size: number;
  modified: string;
}

export class LogsDir {
  constructor(readonly root: string) {}

  /** Creates the directory if missing; false when that is impossible (logs then live only in memory). */
  ensure(): boolean {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o755 });
      return true;
    } catch {
      return false;
    }
  }

  /** `keep_logs: false`: removes everything inside, before anything writes. */
  empty(): void {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return;
    }
    for (const name of names) removePath(join(this.root, name));
  }

  cmdLogPath(): string {
    return join(this.root, CMD_LOG);
  }

  workloadLogPath(wid: string): string {
    return join(this.root, WORKLOADS_SUBDIR, `${wid}.log`);
  }

  /** Runs before a workload log is opened: `workloads/` must be a real directory, not a planted link. */
  ensureWorkloadsDir(): void {
    const dir = join(this.root, WORKLOADS_SUBDIR);
    const st = lstatOrNull(dir);
    if (st && !st.isDirectory()) removePath(dir);
    if (!st || !st.isDirectory()) mkdirSync(dir, { mode: 0o755 });
  }

  /** Regular files at the top level and in `workloads/`, names relative to the directory. */
  list(): LogFileInfo[] {
    const files = [...this.filesIn(''), ...this.filesIn(WORKLOADS_SUBDIR)];
    return files.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Entries covering the newest `tail` lines of one listed file. Anything not in the listing (`..`,
   * absolute paths, symlinks, directories) is not_found.
   */
  readFile(name: string, tail: number): { name: string; entries: ReturnType<typeof entryToWire>[] } {
    if (!this.isListed(name)) throw new AppError('not_found', 'Log file not found', { field: 'name' });
    const entries = tailEntries(fileSpan(join(this.root, name)), tail, MAX_TAIL_BYTES);
    return { name, entries: entries.map(entryToWire) };
  }

  /** Empties every log file: the owned logs through their writers, then any other file listed. */
  truncateAll(owned: Iterable<EntryLog>): void {
    for (const log of owned) log.truncate();
    for (const f of this.list()) if (f.size > 0) truncateRegular(join(this.root, f.name));
  }

  private isListed(name: string): boolean {
    if (name === '' || name.startsWith('/') || name.split('/').some((p) => p === '..' || p === '.' || p === '')) return false;
    return this.list().some((f) => f.name === name);
  }

  private filesIn(sub: string): LogFileInfo[] {
    const dir = sub ? join(this.root, sub) : this.root;
    if (sub && !lstatOrNull(dir)?.isDirectory()) return [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const out: LogFileInfo[] = [];
    for (const n of names) {
      const st = lstatOrNull(join(dir, n));
      if (!st?.isFile()) continue;
      out.push({ name: sub ? `${sub}/${n}` : n, size: st.size, modified: st.mtime.toISOString() });
    }
    return out;
  }
}

function truncateRegular(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return;
  }
  try {
    if (fstatSync(fd).isFile()) ftruncateSync(fd, 0);
  } catch {
    /* gone or not ours to truncate */
  } finally {
    closeSync(fd);
  }
}
