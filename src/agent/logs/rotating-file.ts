/**
 * An append-only log file with one rotated generation: when the next write would take
 * the file past half its cap, the file is renamed to `<path>.1` (replacing the older
 * generation) and a fresh file is started, so the two never hold more than the cap.
 *
 * The log directory is writable by the workspace's own code, which may plant symlinks,
 * FIFOs or directories at our paths. So a path is only ever opened with O_NOFOLLOW (and
 * O_NONBLOCK, so a FIFO cannot block the agent), the opened inode must be a regular file,
 * and anything else found there is removed and replaced. (The agent holds no more
 * privilege than that code, so a race won there gains it nothing; the checks keep the
 * agent from being steered into writing or blocking somewhere else.)
 *
 * Writes are synchronous: a follower that reads the file's tail and then subscribes in
 * the same tick neither misses nor repeats an entry (src/agent/logs/entry-log.ts). A
 * failed write (ENOSPC: the logs count against the disk quota) drops the data.
 *
 * Positions: every byte written has a global position that only grows (0 is the end of
 * the file found at first use), so a reader can say "from here" across rotations.
 * `spans()` maps positions still on disk to (file, offset). Another writer of the file
 * (the workspace can write it) is not accounted for; readers must parse defensively.
 */
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** libuv adds O_CLOEXEC to every open, so a spawned workload never inherits a log fd. */
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW
  | constants.O_NONBLOCK;

/** Smallest cap accepted (tests use small ones; a zero cap would rotate forever). */
export const MIN_CAP_BYTES = 4096;

export interface RotatingFileOptions {
  /** Hears failed opens and writes (at most one open failure per second). */
  onError?: (err: unknown) => void;
  /** Runs before each open, e.g. to check that the parent directory is a real one. */
  beforeOpen?: () => void;
}

export class RotatingFile {
  private fd: number | null = null;
  private size = 0;
  /** Global position after the last byte written. */
  private endPos = 0;
  /** Global position of byte 0 of `<path>.1`; null when that file is not our previous generation. */
  private prevBase: number | null = null;
  /** Global position of the last truncation: data before it was removed on purpose. */
  private cleared = Number.NEGATIVE_INFINITY;
  private established = false;
  private cap: number;
  /** Set after a failed open so a broken directory is not retried on every write. */
  private retryAt = 0;

  constructor(readonly path: string, capBytes: number, private readonly opts: RotatingFileOptions = {}) {
    this.cap = Math.max(MIN_CAP_BYTES, capBytes);
  }

  get capBytes(): number {
    return this.cap;
  }

  setCap(capBytes: number): void {
    this.cap = Math.max(MIN_CAP_BYTES, capBytes);
  }

  /** Appends `data`; rotates first when it would take the file past half the cap. */
  write(data: string | Buffer): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    if (this.size > 0 && this.size + buf.length > this.cap / 2) this.rotate();
    const fd = this.open();
    if (fd === null) return;
    try {
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      this.size += buf.length;
      this.endPos += buf.length;
    } catch (err) {
      // Partial writes leave a torn line; the next rotation or truncation clears it.
      const now = this.fstatSize(fd);
      this.endPos += Math.max(0, now - this.size);
      this.size = now;
      this.report(err);
    }
  }

  /** Global position after the last byte written. */
  get end(): number {
    this.establish();
    return this.endPos;
  }

  /** Global position of the last truncation (-Infinity when none). */
  get clearedAt(): number {
    return this.cleared;
  }

  /** The generations on disk, oldest first: where each one's byte 0 is and how long it should be. */
  spans(): FileSpan[] {
    this.establish();
    const base = this.endPos - this.size;
    const out: FileSpan[] = [];
    if (this.prevBase !== null && this.prevBase < base) out.push({ path: `${this.path}.1`, base: this.prevBase, size: base - this.prevBase });
    out.push({ path: this.path, base, size: this.size });
    return out;
  }

  /** Bytes the current generation holds (what the next rotation check uses). */
  currentSize(): number {
    return this.size;
  }

  /** Empties both generations; later writes start a fresh file. */
  truncate(): void {
    this.establish();
    this.removeOld();
    this.prevBase = null;
    this.cleared = this.endPos;
    if (this.fd !== null) {
      try {
        ftruncateSync(this.fd, 0);
        this.size = 0;
        return;
      } catch {
        this.close();
      }
    }
    removePath(this.path);
    this.size = 0;
  }

  /** Closes and deletes both generations. */
  remove(): void {
    this.establish();
    this.prevBase = null;
    this.cleared = this.endPos;
    this.close();
    removePath(this.path);
    this.removeOld();
    this.size = 0;
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.fd = null;
  }

  private rotate(): void {
    this.close();
    const base = this.endPos - this.size;
    this.prevBase = base;
    try {
      renameSync(this.path, `${this.path}.1`);
    } catch {
      // `.1` may be a planted directory: clear it and try once more, else start over.
      removePath(`${this.path}.1`);
      try {
        renameSync(this.path, `${this.path}.1`);
      } catch {
        removePath(this.path);
        this.prevBase = null;
      }
    }
    this.size = 0;
  }

  /** Takes the files found at first use as the history before position 0. */
  private establish(): void {
    if (this.established) return;
    this.established = true;
    this.size = regularSize(this.path);
    const prev = regularSize(`${this.path}.1`);
    this.endPos = 0;
    this.prevBase = prev > 0 ? -this.size - prev : null;
  }

  private removeOld(): void {
    removePath(`${this.path}.1`);
  }

  private open(): number | null {
    if (this.fd !== null) return this.fd;
    if (Date.now() < this.retryAt) return null;
    this.establish();
    try {
      this.opts.beforeOpen?.();
      this.fd = openRegular(this.path);
      this.size = this.fstatSize(this.fd); // positions stay; the file's start moves if it changed
      this.retryAt = 0;
      return this.fd;
    } catch (err) {
      this.retryAt = Date.now() + 1000;
      this.report(err);
      return null;
    }
  }

  private fstatSize(fd: number): number {
    try {
      return fstatSync(fd).size;
    } catch {
      return 0;
    }
  }

  private report(err: unknown): void {
    this.opts.onError?.(err);
  }
}

/**
 * Opens `path` for appending without following a symlink; whatever non-regular thing
 * sits there (symlink, FIFO, directory, socket) is removed and a regular file created.
 */
export function openRegular(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    const st = lstatOrNull(path);
    if (st && !st.isFile()) removePath(path);
    let fd: number;
    try {
      fd = openSync(path, OPEN_FLAGS, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'EEXIST') continue;
      throw err;
    }
    if (fstatSync(fd).isFile()) return fd;
    closeSync(fd);
    removePath(path);
  }
  throw new Error('log path is not a regular file');
}

/** A generation file: the global position of its byte 0 and the bytes it should hold. */
export interface FileSpan {
  path: string;
  base: number;
  size: number;
}

function regularSize(path: string): number {
  const st = lstatOrNull(path);
  return st?.isFile() ? st.size : 0;
}

export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Removes a file, symlink (not its target) or directory tree; absent is fine. */
export function removePath(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    /* best effort: the next open reports what is wrong */
  }
}
