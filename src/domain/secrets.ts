/**
 * Secret handling shared by API keys and server keys.
 *
 * - `hashSecret` / `verifySecret`: API-key secrets are stored only as
 *   `scrypt$<salt hex>$<hash hex>` (16-byte random salt, 32-byte key, node's default
 *   scrypt cost N=16384 r=8 p=1). The cost is fixed by this format: changing it needs a
 *   new prefix, not a silent change. Verification compares in constant time.
 * - `loadOrCreateKeyFile`: a server secret (the JWT signing key) kept as raw bytes in a
 *   0600 file, created once and reused on every start.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
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

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = 'scrypt';

function deriveKey(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_BYTES, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes `secret` with a fresh salt; the result is safe to store. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(secret, salt);
  return `${PREFIX}$${salt.toString('hex')}$${key.toString('hex')}`;
}

const STORED_FORMAT = /^scrypt\$([0-9a-f]{32})\$([0-9a-f]{64})$/;

/**
 * True when `secret` matches `stored`. A malformed `stored` value is simply a mismatch
 * (never an exception), so a corrupt row cannot be turned into an oracle or a crash.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const m = STORED_FORMAT.exec(stored);
  if (m === null) return false;
  const expected = Buffer.from(m[2]!, 'hex');
  const actual = await deriveKey(secret, Buffer.from(m[1]!, 'hex'));
  return timingSafeEqual(actual, expected);
}

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
