/**
 * Path rules shared by the file, search and transfer routes (runtime.md §3).
 *
 * Every path on the wire must be absolute; it is normalised (`.`/`..` folded, trailing
 * slashes dropped) before use. The boundary is the sandbox itself: the agent runs in the
 * workspace's own mount namespace where "/" is the workspace root, so even a symlink that
 * points at /etc/shadow resolves to the WORKSPACE's /etc/shadow, never the host's. The
 * routes therefore follow symlinks for reads like any process in the workspace would.
 */
import { resolve } from 'node:path';
import { AppError } from '../../contract/errors.js';

/** Paths that DELETE refuses with 403 (runtime.md §3.7). */
export const PROTECTED_PATHS = new Set([
  '/', '/bin', '/sbin', '/usr', '/lib', '/lib64', '/etc', '/dev', '/proc', '/sys', '/boot', '/run',
]);

/** Validates and normalises a wire path; 400 unless it is a non-empty absolute path. */
export function absolutePath(raw: unknown, field = 'path'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw new AppError('bad_request', `${field} is required`, { field });
  if (raw.includes('\0')) throw new AppError('bad_request', `${field} must not contain NUL bytes`, { field });
  if (raw.length > 4096) throw new AppError('bad_request', `${field} is too long`, { field });
  if (!raw.startsWith('/')) throw new AppError('bad_request', `${field} must be an absolute path`, { field });
  return resolve(raw);
}

/** The query parameter `name` as an absolute path, or `fallback` when absent. */
export function queryPath(query: URLSearchParams, name = 'path', fallback?: string): string {
  const raw = query.get(name);
  if ((raw === null || raw === '') && fallback !== undefined) return fallback;
  return absolutePath(raw, name);
}

/** Query booleans arrive as "true"/"false" (runtime.md §0); anything else is the default. */
export function queryBool(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new AppError('bad_request', `${name} must be true or false`, { field: name });
}

/** A decimal integer query parameter clamped to [min, max]; 400 when not a number. */
export function queryInt(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new AppError('bad_request', `${name} must be a number`, { field: name });
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

/** A comma list query parameter ("js,ts") as trimmed, non-empty items. */
export function queryList(query: URLSearchParams, name: string): string[] {
  const v = query.get(name);
  if (!v) return [];
  return v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The relative form of `path` under `root` ("" for the root itself). */
export function relativeTo(root: string, path: string): string {
  if (path === root) return '';
  return root === '/' ? path.slice(1) : path.slice(root.length + 1);
}
