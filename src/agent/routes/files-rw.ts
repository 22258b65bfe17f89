/**
 * Read, write, mkdir and delete (runtime.md §3.3–3.5, §3.7). Reads follow symlinks like
 * any process in the workspace; the sandbox root is the boundary (see files/paths.ts).
 */
import { closeSync, constants as fsConstants, createReadStream, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { mkdir, open, rm, lstat, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { AppError } from '../../contract/errors.js';
import { readJsonObject, reply, type RequestContext, type Router } from '../http.js';
import { isBinary } from '../files/entries.js';
import { absolutePath, PROTECTED_PATHS, queryInt, queryBool, queryPath } from '../files/paths.js';
import { parseMode, writeFromRequest } from '../files/write.js';
import { fsError } from './files.js';

/** Whole-file reads above this size are refused (413) unless a line range is given. */
export const MAX_READ_BYTES = 10 * 1024 * 1024;
/** A ranged read returns at most this much text. */
export const MAX_RANGE_BYTES = 16 * 1024 * 1024;
/** Whole-file reads up to this size take the synchronous path (readSmallFile). */
const SMALL_READ_BYTES = 256 * 1024;

export function registerFileRwRoutes(router: Router): void {
  router.get('/files/read', readRoute);
  router.post('/files/write', writeRoute);
  router.add('PUT', '/files/write', writeRoute);
  router.post('/files/mkdir', mkdirRoute);
  router.post('/files/delete', deleteRoute);
  router.delete('/files/delete', deleteRoute);
}

async function readRoute(ctx: RequestContext) {
  const path = queryPath(ctx.query);
  const startLine = queryInt(ctx.query, 'start_line', 0, 1, Number.MAX_SAFE_INTEGER);
  const endLine = queryInt(ctx.query, 'end_line', 0, 1, Number.MAX_SAFE_INTEGER);
  const numbered = queryBool(ctx.query, 'with_line_numbers', false);
  const ranged = startLine > 0 || endLine > 0;
  if (startLine > 0 && endLine > 0 && endLine < startLine) {
    throw new AppError('bad_request', 'end_line must be >= start_line', { field: 'end_line' });
  }
  const small = ranged ? null : readSmallFile(path);
  const st = small?.st ?? await stat(path).catch((err) => {
    throw fsError(err, path);
  });
  if (st.isDirectory()) throw new AppError('bad_request', `Path is a directory: ${path}`, { field: 'path' });
  if (!st.isFile()) throw new AppError('bad_request', `Not a regular file: ${path}`, { field: 'path' });
  if (!ranged && st.size > MAX_READ_BYTES) {
    throw new AppError('payload_too_large', `File is ${st.size} bytes; reads over ${MAX_READ_BYTES} bytes need start_line/end_line (or use transfer download)`, { field: 'path', limit: MAX_READ_BYTES });
  }
  if (small?.bytes) refuseBinaryBytes(path, small.bytes);
  else await refuseBinary(path);
  const from = startLine || 1;
  const to = endLine || Number.MAX_SAFE_INTEGER;
  let content: string;
  let count: number;
  if (ranged) {
    const lines = await readLineRange(path, from, to);
    content = numbered ? lines.map((l, i) => `${from + i}\t${l}`).join('\n') : lines.join('\n');
    count = lines.length;
  } else {
    const text = small?.bytes ? small.bytes.toString('utf8') : await readWhole(path);
    const lines = splitLines(text);
    content = numbered ? lines.map((l, i) => `${i + 1}\t${l}`).join('\n') : text; // verbatim unless numbered
    count = lines.length;
  }
  const body: Record<string, unknown> = { success: true, path, content, size: st.size, lines: count };
  const ext = extname(path);
  if (ext) body.extension = ext;
  if (ranged) {
    body.start_line = from;
    body.end_line = count > 0 ? from + count - 1 : from;
  }
  return reply(body);
}

/**
 * Whole-file reads of small files in three synchronous calls (open, fstat, read): a thread-pool
 * round trip costs more than each call. O_NONBLOCK so a FIFO cannot block the open. Returns the
 * fstat and, for a regular file of at most SMALL_READ_BYTES, its bytes; null when the open fails
 * (the asynchronous path then reports the error exactly as before).
 */
function readSmallFile(path: string): { st: Stats; bytes: Buffer | null } | null {
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > SMALL_READ_BYTES) return { st, bytes: null };
    const buf = Buffer.allocUnsafe(st.size + 1); // one spare byte sees a file that grew
    let len = 0;
    for (let n = -1; n !== 0 && len < buf.length;) {
      n = readSync(fd, buf, len, buf.length - len, len);
      len += n;
    }
    return len > st.size ? { st, bytes: null } : { st, bytes: buf.subarray(0, len) };
  } finally {
    closeSync(fd);
  }
}

/** The file's lines; a final newline ends the last line rather than starting an empty one. */
function splitLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function readWhole(path: string): Promise<string> {
  const h = await open(path, 'r').catch((err) => {
    throw fsError(err, path);
  });
  try {
    return (await h.readFile()).toString('utf8');
  } finally {
    await h.close();
  }
}

async function refuseBinary(path: string): Promise<void> {
  const h = await open(path, 'r').catch((err) => {
    throw fsError(err, path);
  });
  try {
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    refuseBinaryBytes(path, buf.subarray(0, bytesRead));
  } finally {
    await h.close();
  }
}

/** 400 when the file's first 8 KiB look binary. */
function refuseBinaryBytes(path: string, bytes: Buffer): void {
  if (isBinary(bytes.subarray(0, 8192))) {
    throw new AppError('bad_request', `Binary file: ${path}; this API returns UTF-8 text only — use POST /files/transfer/download`, { field: 'path', reason: 'binary_file' });
  }
}

/** Lines `from..to` (1-based, inclusive), streamed; stops reading after `to`. */
async function readLineRange(path: string, from: number, to: number): Promise<string[]> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  const out: string[] = [];
  let n = 0;
  let bytes = 0;
  try {
    for await (const line of rl) {
      n++;
      if (n < from) continue;
      if (n > to) break;
      bytes += line.length + 1;
      if (bytes > MAX_RANGE_BYTES) {
        throw new AppError('payload_too_large', `Line range exceeds ${MAX_RANGE_BYTES} bytes; ask for fewer lines`, { limit: MAX_RANGE_BYTES });
      }
      out.push(line);
    }
  } finally {
    rl.close();
    input.destroy();
  }
  return out;
}

async function writeRoute(ctx: RequestContext) {
  const result = await writeFromRequest(ctx.req);
  return reply({ success: true, path: result.path, size: result.size }, 201);
}

async function mkdirRoute(ctx: RequestContext) {
  const body = await readJsonObject(ctx.req);
  const path = absolutePath(body.path);
  const mode = parseMode(body.mode, 0o755);
  try {
    await mkdir(path, { recursive: true, mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new AppError('conflict', `A file is in the way: ${path}`, { field: 'path' });
    throw fsError(err, path);
  }
  const st = await stat(path);
  if (!st.isDirectory()) throw new AppError('conflict', `Not a directory: ${path}`, { field: 'path' });
  return reply({ success: true, path }, 201);
}

/** Path from the JSON body (SDK) or the query (docs); recursive; protected paths 403. */
async function deleteRoute(ctx: RequestContext) {
  const body = await readJsonObject(ctx.req);
  const raw = typeof body.path === 'string' && body.path.length > 0 ? body.path : ctx.query.get('path');
  const path = absolutePath(raw);
  if (PROTECTED_PATHS.has(path) || path === '/.warren' || path.startsWith('/.warren/')) {
    throw new AppError('forbidden', `Refusing to delete protected path ${path}`, { field: 'path' });
  }
  await lstat(path).catch((err) => {
    throw fsError(err, path);
  });
  try {
    await rm(path, { recursive: true, force: false });
  } catch (err) {
    throw fsError(err, path);
  }
  return reply({ success: true, path });
}
