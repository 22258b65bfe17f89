/**
 * File routes (runtime.md §3, §4, §8). This module registers them all: stat here,
 * listing in files-list.ts, read/write/mkdir/delete in files-rw.ts, search in
 * search.ts and tar transfer in transfer.ts. Those take absolute paths only (400
 * otherwise); stat keeps its original leniency (a relative path is taken from /root).
 */
import { lstat, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, extname, isAbsolute, resolve } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { fsError } from '../files/fs-errors.js';
import { reply, type RequestContext, type Router } from '../http.js';
import { HOME } from '../process.js';
import { registerFileListRoutes } from './files-list.js';
import { registerFileRwRoutes } from './files-rw.js';
import { registerSearchRoutes } from './search.js';
import { registerTransferRoutes } from './transfer.js';

export const FILES_CAPABILITIES = ['files.stat', 'files', 'search', 'transfer'];

/** Extensions reported as source code (`is_code`). */
const CODE_EXTENSIONS = new Set([
  'js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'py', 'rb', 'go', 'rs', 'java', 'kt', 'kts', 'scala',
  'c', 'h', 'cc', 'cpp', 'cxx', 'hpp', 'hh', 'cs', 'swift', 'm', 'mm', 'php', 'pl', 'pm', 'lua', 'r', 'dart',
  'sh', 'bash', 'zsh', 'fish', 'ps1', 'sql', 'html', 'htm', 'css', 'scss', 'sass', 'less', 'vue', 'svelte',
  'json', 'yaml', 'yml', 'toml', 'xml', 'md', 'mdx', 'graphql', 'gql', 'proto', 'tf', 'hcl', 'ex', 'exs',
  'erl', 'hs', 'ml', 'clj', 'zig', 'nim', 'elm', 'sol', 'astro', 'ini', 'cfg', 'conf', 'gradle', 'cmake',
]);
const CODE_FILENAMES = new Set(['Dockerfile', 'Makefile', 'Rakefile', 'Gemfile', 'Procfile', 'Justfile']);

export function registerFileRoutes(router: Router): void {
  router.get('/files/stat', statRoute);
  registerFileListRoutes(router);
  registerFileRwRoutes(router);
  registerSearchRoutes(router);
  registerTransferRoutes(router);
}

/** The `path` query parameter as an absolute path; 400 when missing or invalid. */
export function requirePath(ctx: RequestContext): string {
  const raw = ctx.query.get('path');
  if (raw === null || raw.length === 0) throw new AppError('bad_request', 'path is required', { field: 'path' });
  if (raw.includes('\0')) throw new AppError('bad_request', 'path must not contain NUL bytes', { field: 'path' });
  return isAbsolute(raw) ? resolve(raw) : resolve(HOME, raw);
}

export function isCodeFile(name: string): boolean {
  if (CODE_FILENAMES.has(name)) return true;
  const ext = extname(name).slice(1).toLowerCase();
  return ext.length > 0 && CODE_EXTENSIONS.has(ext);
}

export function fileType(st: Stats): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  return 'other';
}

/** Maps filesystem errors to wire errors (ENOENT → 404, EACCES → 403). */
export { fsError };

async function statRoute(ctx: RequestContext) {
  const path = requirePath(ctx);
  let st: Stats;
  try {
    st = await lstat(path);
  } catch (err) {
    throw fsError(err, path);
  }
  const name = path === '/' ? '/' : basename(path);
  const type = fileType(st);
  const body: Record<string, unknown> = {
    success: true,
    path,
    name,
    type,
    size: st.size,
    modified: st.mtime.toISOString(),
    permissions: (st.mode & 0o7777).toString(8).padStart(4, '0'),
    is_code: type !== 'directory' && isCodeFile(name),
  };
  const ext = extname(name);
  if (ext && type !== 'directory') body.extension = ext;
  if (type === 'symlink') {
    try {
      body.symlink_target = await readlink(path);
    } catch {
      // vanished between lstat and readlink: report without a target
    }
  }
  return reply(body);
}
