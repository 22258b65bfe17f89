/**
 * Server secrets kept as raw bytes in 0600 files in the data dir (the gateway's JWT
 * signing key, SSH host keys): `loadOrCreateKeyFile` creates one once and reuses it on
 * every start; `createFileOnce` and `replaceFile` are the crash-safe writes beneath.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

function syncDir(dir: string): void {
  const fd = openSync(dir, fsConstants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readKey(path: string, bytes: number): Buffer {
  const key = readFileSync(path);
  if (key.length < bytes) {
    throw new Error(`key file ${path} holds ${key.length} bytes, expected at least ${bytes}; remove it to regenerate`);
  }
  return key;
}

/**
 * Creates `path` (0600, its directory 0700) holding `data`, unless it exists: false then,
 * and the file is left as it is. Crash- and race-safe: the data goes to a private temp
 * file (O_EXCL) that is fsynced and hard-linked to `path`; link(2) fails if `path`
 * exists, so `path` only ever appears complete and of two writers exactly one wins. The
 * directory is fsynced so the name survives a crash.
 */
export function createFileOnce(path: string, data: Buffer | string): boolean {
  const dir = dirname(path);
  const tmp = writePrivateTemp(path, data);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(tmp);
    syncDir(dir);
  }
}

/**
 * Puts `data` at `path` (0600) in place of what is there, in one step: a fsynced private
 * temp file renamed over it, so a reader or a crash sees the old content or the new, never
 * a part. For a file found unusable; a file that is fine is never replaced.
 */
export function replaceFile(path: string, data: Buffer | string): void {
  const tmp = writePrivateTemp(path, data);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  syncDir(dirname(path));
}

/** A new fsynced 0600 file beside `path` (its directory made 0700 if missing) holding `data`; returns its path. */
function writePrivateTemp(path: string, data: Buffer | string): string {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}

/**
 * Returns the secret stored at `path`, creating it first with `bytes` random bytes.
 *
 * Creation is crash- and race-safe: the bytes go to a private temp file (O_EXCL, 0600)
 * that is fsynced and then hard-linked to `path`. link(2) fails if `path` exists, so
 * `path` only ever appears complete, and of two concurrent starters exactly one wins
 * and both return the same key. The directory is fsynced so the name survives a crash.
 * An existing file is used as is (an operator may supply one); it must hold at least
 * `bytes` bytes.
 */
export function loadOrCreateKeyFile(path: string, bytes: number): Buffer {
  if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError('bytes must be a positive integer');
  try {
    return readKey(path, bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(bytes);
  // Lost the race to another starter: use the winner's key.
  return createFileOnce(path, key) ? key : readKey(path, bytes);
}
