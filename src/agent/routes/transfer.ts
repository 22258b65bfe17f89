/**
 * tar.gz transfer (runtime.md §8), built on GNU tar and gzip from the runtime bundle
 * (src/contract/agent-runtime.ts), never the image's: busybox's tar lacks the options used
 * here, and an image may have no tar at all. Outside a sandbox (no bundle) the host's tar.
 *
 * Download streams `tar -cz` straight to the response. Upload spools the (possibly
 * chunked) body to a temp file, lists it first and refuses the whole archive when any
 * member name is absolute or contains a `..` component, then extracts into `dest`.
 * GNU tar itself refuses to write through symlinks created by the same archive (it
 * creates placeholders for links pointing outside), and the sandbox root bounds the rest.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runtimePath } from '../../contract/agent-runtime.js';
import { AppError } from '../../contract/errors.js';
import { BODY_LIMITS } from '../../config/limits.js';
import { cappedChunks, refuseDeclared, requestChunks } from '../../util/capped-body.js';
import { readJsonObject, reply, type RequestContext, type Router } from '../http.js';
import { absolutePath, queryPath } from '../files/paths.js';
import { fsError, spoolError } from '../files/fs-errors.js';

const TAR_CANDIDATES = ['/usr/bin/tar', '/bin/tar', '/usr/local/bin/tar'];
/** Largest upload archive accepted (src/config/limits.ts). */
export const MAX_UPLOAD_BYTES = BODY_LIMITS.tarUpload;

export function registerTransferRoutes(router: Router): void {
  router.post('/files/transfer/download', downloadRoute);
  router.post('/files/transfer/upload', uploadRoute);
}

/** A tar program and the options that make it (de)compress gzip. */
interface Tar {
  file: string;
  gzip: string[];
}

function findTar(): Tar {
  const [tar, gzip] = [runtimePath('tar'), runtimePath('gzip')];
  // GNU tar runs `gzip` by PATH for -z, the image's; the bundle's is named instead (`gzip -d` to read).
  if (existsSync(tar) && existsSync(gzip)) return { file: tar, gzip: [`--use-compress-program=${gzip}`] };
  const other = TAR_CANDIDATES.find((p) => existsSync(p));
  if (!other) throw new AppError('service_unavailable', 'tar is not installed in this workspace', { reason: 'tar_missing' });
  return { file: other, gzip: ['-z'] };
}

async function downloadRoute(ctx: RequestContext) {
  const body = await readJsonObject(ctx.req);
  if (!Array.isArray(body.paths) || body.paths.length === 0) {
    throw new AppError('bad_request', 'paths must be a non-empty array of absolute paths', { field: 'paths' });
  }
  const paths = body.paths.map((p) => absolutePath(p, 'paths'));
  const excludes = Array.isArray(body.exclude_patterns) ? body.exclude_patterns : [];
  if (!excludes.every((e) => typeof e === 'string')) {
    throw new AppError('bad_request', 'exclude_patterns must be strings', { field: 'exclude_patterns' });
  }
  for (const p of paths) await stat(p).catch((err) => { throw fsError(err, p); });
  const tar = findTar();
  // Names go through stdin (NUL-separated, verbatim) so no name can be read as an option.
  const args = ['-c', ...tar.gzip, '-f', '-', '-C', '/', ...excludes.map((e) => `--exclude=${e}`), '--null', '--verbatim-files-from', '-T', '-'];
  const child = spawn(tar.file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(paths.map((p) => (p === '/' ? '.' : p.slice(1))).join('\0') + '\0');
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const { res } = ctx;
  res.writeHead(200, { 'content-type': 'application/gzip', 'content-disposition': 'attachment; filename="files.tar.gz"' });
  res.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await pipeline(child.stdout, res, { end: false });
  } catch {
    // client went away; the close handler kills tar
  }
  const code = await exit;
  // 0 = ok, 1 = a file changed while being read (archive still valid); else abort the body.
  if (code === 0 || code === 1) res.end();
  else res.destroy(new Error(`tar failed: ${stderr}`));
  return undefined;
}

async function uploadRoute(ctx: RequestContext) {
  const dest = queryPath(ctx.query, 'dest', '/');
  const tar = findTar();
  refuseDeclared(ctx.req.headers['content-length'], MAX_UPLOAD_BYTES);
  const spool = join(tmpdir(), `.warren-upload-${randomBytes(8).toString('hex')}.tar.gz`);
  try {
    await spoolBody(ctx, spool);
    const members = await listMembers(tar, spool);
    const bad = members.find((m) => m.startsWith('/') || m.split('/').includes('..'));
    if (bad !== undefined) {
      throw new AppError('bad_request', `Archive member escapes the destination: ${bad.slice(0, 200)}`, { field: 'body', reason: 'unsafe_entry' });
    }
    await mkdir(dest, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'ENOTDIR') throw new AppError('bad_request', `dest is not a directory: ${dest}`, { field: 'dest' });
      throw fsError(err, dest);
    });
    const result = await run(tar.file, ['-x', ...tar.gzip, '-f', spool, '-C', dest, '--no-same-owner', '--delay-directory-restore']);
    if (result.code !== 0) throw extractionFailed(result.stderr);
    const filesExtracted = members.filter((m) => !m.endsWith('/')).length;
    return reply({ success: true, dest, files_extracted: filesExtracted });
  } finally {
    await rm(spool, { force: true });
  }
}

async function spoolBody(ctx: RequestContext, path: string): Promise<void> {
  let received = 0;
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  // Refused at the first chunk past the cap; the request stays open for the 413 (not destroyed by pipeline).
  let spoolFailed: unknown = null;
  out.once('error', (err) => { spoolFailed = err; });
  try {
    await pipeline(cappedChunks(requestChunks(ctx.req), MAX_UPLOAD_BYTES), async function* (source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        received += chunk.byteLength;
        yield chunk;
      }
    }, out);
  } catch (err) {
    // The spool's own failure (the caller's code removed or filled /tmp) is the caller's, not a 500.
    if (spoolFailed !== null && err === spoolFailed) throw spoolError(err);
    throw err;
  }
  if (received === 0) throw new AppError('bad_request', 'Empty upload body (expected a .tar.gz)', { field: 'body' });
}

/** Raw member names (`-P`: exactly as stored, leading "/" kept). */
async function listMembers(tar: Tar, archive: string): Promise<string[]> {
  const result = await run(tar.file, ['-t', ...tar.gzip, '-f', archive, '-P']);
  if (result.code !== 0) {
    // tar's own text names its program and the spool file: only the verdict crosses the wire.
    throw new AppError('bad_request', 'Not a valid .tar.gz archive', { field: 'body', reason: 'invalid_archive' });
  }
  return result.stdout.split('\n').filter((l) => l.length > 0);
}

/**
 * An extraction tar refused. Its stderr names the tar program, the spool file and paths
 * it could not write; the caller gets a reason code (a full disk is 413, as for a file write).
 */
function extractionFailed(stderr: string): AppError {
  if (/No space left on device|Disk quota exceeded/.test(stderr)) {
    return new AppError('payload_too_large', 'No space left extracting the archive', { field: 'body', reason: 'ENOSPC' });
  }
  if (/Permission denied|Read-only file system/.test(stderr)) {
    return new AppError('forbidden', 'The archive could not be extracted here: permission denied', { field: 'dest', reason: 'EACCES' });
  }
  return new AppError('bad_request', 'The archive could not be extracted', { field: 'body', reason: 'extract_failed' });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr }));
  });
}
