/**
 * POST/PUT /files/write (runtime.md §3.4) without holding the body in memory: the body
 * is parsed as it arrives (json-stream.ts) and `content` is spooled to a temp file,
 * next to the target when its directory already exists, else in /tmp. Then the temp
 * file is renamed over the target (atomic) or, with `append`, copied onto its end.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../contract/errors.js';
import { StreamingWriteBody } from './json-stream.js';
import { absolutePath } from './paths.js';

/** Largest write body accepted; raised for this route only (the agent default is 16 MiB). */
export const MAX_WRITE_BODY = 1024 * 1024 * 1024;

export interface WriteResult {
  path: string;
  size: number;
}

interface Spool {
  path: string;
  handle: FileHandle;
  bytes: number;
}

function tempName(dir: string, target: string): string {
  return join(dir, `.${basename(target).slice(0, 100)}.warren-${randomBytes(6).toString('hex')}.tmp`);
}

async function dirExists(dir: string): Promise<boolean> {
  return stat(dir).then((s) => s.isDirectory(), () => false);
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
  if (Number(req.headers['content-length'] ?? 0) > MAX_WRITE_BODY) {
    throw new AppError('payload_too_large', `Request body exceeds ${MAX_WRITE_BODY} bytes`, { limit: MAX_WRITE_BODY });
  }
  let spool: Spool | null = null;
  const body = new StreamingWriteBody('content', async (chunk) => {
    if (!spool) spool = await openSpool(body.fields.path);
    await spool.handle.write(chunk);
    spool.bytes += chunk.length;
  });
  try {
    let received = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > MAX_WRITE_BODY) throw new AppError('payload_too_large', 'Request body too large', { limit: MAX_WRITE_BODY });
      await body.push(chunk);
    }
    body.finish();
    const s = spool as Spool | null;
    if (s) await s.handle.close();
    return await commit(body.fields, s);
  } catch (err) {
    const s = spool as Spool | null;
    if (s) {
      await s.handle.close().catch(() => undefined);
      await rm(s.path, { force: true });
    }
    throw err;
  }
}

async function openSpool(rawPath: unknown): Promise<Spool> {
  let dir = tmpdir();
  if (typeof rawPath === 'string' && rawPath.startsWith('/') && !rawPath.includes('\0')) {
    const parent = dirname(absolutePath(rawPath));
    if (await dirExists(parent)) dir = parent;
  }
  const path = tempName(dir, typeof rawPath === 'string' ? rawPath : 'write');
  try {
    return { path, handle: await open(path, 'wx', 0o600), bytes: 0 };
  } catch {
    // target dir not writable: spool in /tmp, the commit reports the real error
    const fallback = tempName(tmpdir(), 'write');
    return { path: fallback, handle: await open(fallback, 'wx', 0o600), bytes: 0 };
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
    if (createDirs) await mkdir(parent, { recursive: true });
    else if (!(await dirExists(parent))) {
      throw new AppError('not_found', `Parent directory does not exist: ${parent} (set create_dirs)`, { field: 'path' });
    }
    if (await stat(target).then((s) => s.isDirectory(), () => false)) {
      throw new AppError('bad_request', `Path is a directory: ${target}`, { field: 'path' });
    }
    if (append) await appendSpool(target, spool, mode);
    else await replaceWithSpool(target, spool, mode);
  } catch (err) {
    if (spool) await rm(spool.path, { force: true });
    throw err instanceof AppError ? err : writeError(err, target);
  }
  const st = await stat(target);
  return { path: target, size: st.size };
}

async function replaceWithSpool(target: string, spool: Spool | null, mode: number): Promise<void> {
  const temp = tempName(dirname(target), target);
  if (!spool) {
    const h = await open(temp, 'wx', 0o600);
    await h.close();
  } else if (dirname(spool.path) === dirname(target)) {
    await rename(spool.path, temp);
  } else {
    await copyFile(spool.path, temp);
    await rm(spool.path, { force: true });
  }
  try {
    await chmod(temp, mode);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function appendSpool(target: string, spool: Spool | null, mode: number): Promise<void> {
  const out = createWriteStream(target, { flags: 'a', mode });
  if (!spool) {
    await new Promise<void>((resolve, reject) => out.on('error', reject).end(resolve));
    return;
  }
  await pipeline(createReadStream(spool.path), out);
  await rm(spool.path, { force: true });
}

function writeError(err: unknown, path: string): AppError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new AppError('forbidden', `Cannot write ${path}: ${code}`, { field: 'path' });
  if (code === 'ENOTDIR' || code === 'ENOENT') return new AppError('not_found', `Parent path is not a directory: ${path}`, { field: 'path' });
  if (code === 'EEXIST') return new AppError('conflict', `A file is in the way: ${path}`, { field: 'path' });
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('payload_too_large', `No space left writing ${path}`);
  return new AppError('server_error', `Cannot write ${path}`);
}
