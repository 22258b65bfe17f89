/**
 * Cross-process exclusive lock on a file path, used so that two servers (or two test
 * files) never build the same image at once.
 *
 * Contract: the lock file is created with O_EXCL and holds "<pid> <starttime>"; the
 * start time (field 22 of /proc/<pid>/stat) guards against a recycled pid. A lock whose
 * owner is dead is stale and is taken over: it is first renamed to a unique name (only
 * one contender can move a given file), and the moved file is checked to be the one
 * judged stale before it is deleted, so a fresh lock is never broken by a slow contender.
 * Waiting polls; there is no kernel-level queue. Locks held by this very process are
 * treated as live (callers dedupe in-process themselves).
 */
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** Give up after this long (default 30 min: an image build takes about a minute). */
  timeoutMs?: number;
  pollMs?: number;
  /** Called once when the lock is found busy, with the owner's pid. */
  onWait?: (ownerPid: number) => void;
}

export interface LockHandle {
  path: string;
  release(): Promise<void>;
}

/** Lock content without a pid that is older than this is considered a crashed writer. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/** Start time of a process in clock ticks since boot, or null when it does not exist. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // rest[0] is field 3 (state), so field 22 is rest[19]
  } catch {
    return null;
  }
}

/** True when a process with this pid (and, if given, this start time) is running. */
export function ownerAlive(pid: number, startTime?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const actual = processStartTime(pid);
  if (actual === null) return false;
  return startTime === undefined || startTime === actual;
}

interface LockInfo { pid: number; startTime?: string; ino: number; mtimeMs: number }

async function readLock(path: string): Promise<LockInfo | null> {
  try {
    // Content and inode come from one open file, so they describe the same lock.
    const fh = await open(path, 'r');
    let text: string;
    let st: Awaited<ReturnType<typeof fh.stat>>;
    try {
      [text, st] = await Promise.all([fh.readFile('utf8'), fh.stat()]);
    } finally {
      await fh.close();
    }
    const [pidText, startTime] = text.trim().split(/\s+/);
    return { pid: Number(pidText), startTime: startTime || undefined, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isStale(info: LockInfo): boolean {
  if (!Number.isInteger(info.pid) || info.pid <= 0) return Date.now() - info.mtimeMs > EMPTY_LOCK_GRACE_MS;
  return !ownerAlive(info.pid, info.startTime);
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o644);
    try {
      await fh.writeFile(`${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes a stale lock without ever removing a lock created after it was judged stale. */
async function breakStaleLock(path: string, stale: LockInfo): Promise<void> {
  const moved = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await rename(path, moved);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke it
    throw err;
  }
  const st = await stat(moved);
  if (st.ino !== stale.ino) {
    // We moved a fresh lock: put it back unless yet another one appeared meanwhile.
    await link(moved, path).catch(() => undefined);
  }
  await unlink(moved).catch(() => undefined);
}

/**
 * Acquires the lock at `path`, waiting while a live process holds it. The lock's directory is
 * made first when missing: on a fresh machine the first build is also the first use of the
 * images directory.
 */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<LockHandle> {
  await mkdir(dirname(path), { recursive: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  const pollMs = opts.pollMs ?? 250;
  let notified = false;
  for (;;) {
    if (await tryCreate(path)) return { path, release: () => releaseLock(path) };
    const info = await readLock(path);
    if (info && isStale(info)) {
      await breakStaleLock(path, info);
      continue;
    }
    if (info && !notified) {
      notified = true;
      opts.onWait?.(info.pid);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${path} (held by pid ${info?.pid})`);
    await sleep(pollMs);
  }
}

/** Releases a lock this process holds; a lock owned by someone else is left alone. */
async function releaseLock(path: string): Promise<void> {
  const info = await readLock(path);
  if (info && info.pid === process.pid) await unlink(path).catch(() => undefined);
}

/** Pid of the live process holding the lock at `path`, or null. */
export async function lockOwner(path: string): Promise<number | null> {
  const info = await readLock(path);
  return info && !isStale(info) ? info.pid : null;
}
