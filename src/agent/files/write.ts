/**
 * POST/PUT /files/write (runtime.md §3.4) without holding the body in memory: the body
 * is parsed as it arrives (json-stream.ts) and `content` is spooled to a temp file,
 * next to the target when its directory already exists, else in /tmp. Then the temp
 * file is renamed over the target (atomic) or, with `append`, copied onto its end.
 *
 * Cost: metadata calls (stat, open, chmod, close) and the spool writes of one body
 * chunk (≤ 64 KiB, as read from the socket) are synchronous. Each is microseconds on
 * the workspace's own disk, while a round trip through libuv's thread pool costs more
 * than the call itself; a small write is ~6 system calls and one thread hop. What may
 * wait on the disk stays asynchronous: the rename over an existing file (ext4 starts
 * writing the new data back before replacing the old, ≈ 0.3 ms), copying a spool from
 * /tmp and appending it.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, createReadStream, createWriteStream, fchmodSync, mkdirSync, openSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { copyFile, rename } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../contract/errors.js';
import { BODY_LIMITS } from '../../config/limits.js';
import { cappedChunks, refuseDeclared, requestChunks } from '../../util/capped-body.js';
import { StreamingWriteBody } from './json-stream.js';
import { absolutePath } from './paths.js';
import { fsError, spoolError } from './fs-errors.js';

/** Largest write body accepted; raised for this route only (src/config/limits.ts). */
export const MAX_WRITE_BODY = BODY_LIMITS.fileWrite;
/** Read size when appending a spool onto its target. */
const APPEND_CHUNK = 1024 * 1024;

export interface WriteResult {
  path: string;
  size: number;
}

interface Spool {
  path: string;
  /** Open until the commit (or the cleanup) closes it; -1 once closed. */
  fd: number;
  bytes: number;
}

function tempName(dir: string, target: string): string {
  return join(dir, `.${basename(target).slice(0, 100)}.warren-${randomBytes(6).toString('hex')}.tmp`);
}

/** A path the caller named may cross a file (`ENOTDIR`) or a closed door: that is "not a directory" too. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false; // the commit then reports the real error against the caller's path (writeError)
  }
}

export function parseMode(raw: unknown, fallback: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^0?[0-7]{3,4}$/.test(text)) {
    throw new AppError('bad_request', 'mode must be an octal string such as "0644"', { field: 'mode' });
  }
  return parseInt(text, 8);
}

/** Reads the request, writes the file, returns its final path and size. */
export async function writeFromRequest(req: IncomingMessage): Promise<WriteResult> {
  refuseDeclared(req.headers['content-length'], MAX_WRITE_BODY);
  let spool: Spool | null = null;
  const body = new StreamingWriteBody('content', async (chunk) => {
    spool ??= openSpool(body.fields.path);
    writeAll(spool.fd, chunk);
    spool.bytes += chunk.length;
  });
  try {
    // Refused at the first chunk past the cap, the request kept open for the 413.
    for await (const chunk of cappedChunks(requestChunks(req), MAX_WRITE_BODY)) await body.push(chunk);
    body.finish();
    return await commit(body.fields, spool);
  } catch (err) {
    if (spool) discard(spool);
    throw err;
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
}

function closeSpool(spool: Spool): void {
  if (spool.fd === -1) return;
  const fd = spool.fd;
  spool.fd = -1;
  closeSync(fd);
}

function discard(spool: Spool): void {
  try {
    closeSpool(spool);
  } catch {
    // already unusable: removing it is all that is left
  }
  rmSync(spool.path, { force: true });
}

function openSpool(rawPath: unknown): Spool {
  let dir = tmpdir();
  if (typeof rawPath === 'string' && rawPath.startsWith('/') && !rawPath.includes('\0')) {
    const parent = dirname(absolutePath(rawPath));
    if (isDirectory(parent)) dir = parent;
  }
  const path = tempName(dir, typeof rawPath === 'string' ? rawPath : 'write');
  try {
    return { path, fd: openSync(path, 'wx', 0o600), bytes: 0 };
  } catch {
    // target dir not writable: spool in /tmp, the commit reports the real error
    const fallback = tempName(tmpdir(), 'write');
    try {
      return { path: fallback, fd: openSync(fallback, 'wx', 0o600), bytes: 0 };
    } catch (err) {
      throw spoolError(err);
    }
  }
}

async function commit(fields: Record<string, unknown>, spool: Spool | null): Promise<WriteResult> {
  const target = absolutePath(fields.path);
  if (fields.content !== undefined && fields.content !== null && typeof fields.content !== 'string') {
    throw new AppError('bad_request', 'content must be a string', { field: 'content' });
  }
  const createDirs = fields.create_dirs === true || fields.createDirs === true;
  const mode = parseMode(fields.mode, 0o644);
  const append = fields.append === true;
  const parent = dirname(target);
  try {
    if (createDirs) mkdirSync(parent, { recursive: true });
    else if (!(spool && dirname(spool.path) === parent) && !isDirectory(parent)) {
      throw new AppError('not_found', `Parent directory does not exist: ${parent} (set create_dirs)`, { field: 'path' });
    }
    if (isDirectory(target)) throw new AppError('bad_request', `Path is a directory: ${target}`, { field: 'path' });
    const size = append ? await appendSpool(target, spool, mode) : await replaceWithSpool(target, spool, mode);
    return { path: target, size };
  } catch (err) {
    if (spool) discard(spool);
    throw err instanceof AppError ? err : writeError(err, target);
  }
}

/** Puts the spooled bytes at `target` atomically (rename); returns the new size. */
async function replaceWithSpool(target: string, spool: Spool | null, mode: number): Promise<number> {
  if (spool && dirname(spool.path) === dirname(target)) {
    fchmodSync(spool.fd, mode);
    closeSpool(spool);
    await rename(spool.path, target);
    return spool.bytes;
  }
  const temp = tempName(dirname(target), target);
  if (spool) {
    closeSpool(spool);
    await copyFile(spool.path, temp);
    rmSync(spool.path, { force: true });
  } else {
    closeSync(openSync(temp, 'wx', 0o600));
  }
  try {
    chmodSync(temp, mode);
    await rename(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return spool?.bytes ?? 0;
}
/** Copies the spooled bytes onto the end of `target` (created with `mode` if missing); returns its new size. */
async function appendSpool(target: string, spool: Spool | null, mode: number): Promise<number> {
  const out = createWriteStream(target, { flags: 'a', mode });
  if (!spool) {
    await new Promise<void>((resolve, reject) => out.on('error', reject).end(resolve));
  } else {
    closeSpool(spool);
    await pipeline(createReadStream(spool.path, { highWaterMark: APPEND_CHUNK }), out);
    rmSync(spool.path, { force: true });
  }
  return statSync(target).size;
}

function writeError(err: unknown, path: string): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new AppError('forbidden', `Cannot write ${path}: ${code}`, { field: 'path' });
  if (code === 'ENOTDIR' || code === 'ENOENT') return new AppError('not_found', `Parent path is not a directory: ${path}`, { field: 'path' });
  if (code === 'EEXIST') return new AppError('conflict', `A file is in the way: ${path}`, { field: 'path' });
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('payload_too_large', `No space left writing ${path}`);
  return fsError(err, path); // EISDIR, EBUSY, … are the caller's path; only an unknown errno is a 500
}
