/**
 * Bodies and path parameters of snapshots, archives, restore and fork
 * (control-plane.md §10 and Warren's fork extension), parsed into typed commands. Every
 * failure is an AppError with a stable code and `details.field`.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

export type ArchiveFormat = 'tar.zst' | 'tar.gz';

export const SNAPSHOT_AFTER = ['resume', 'paused', 'stop'] as const;
export type SnapshotAfter = (typeof SNAPSHOT_AFTER)[number];
/** Archive version names: safe as file names, printable in tables. */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_VM_PATHS = 64;
export const MAX_FORKS = 10;

export interface ArchiveCreateCommand {
  version: string | null;
  format: ArchiveFormat;
  vmPaths: string[];
  excludeVmPaths: string[];
}

export interface RestoreCommand {
  /** Restore this archive version instead of the latest snapshot (Warren extension). */
  archive: string | null;
}

export interface ForkCommand {
  count: number;
  name: string | null;
}

function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('body', 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** POST /workspace/:id/snapshot: what the workspace does once the snapshot is taken. */
export const snapshotSchema = z.looseObject({
  after: z.enum(SNAPSHOT_AFTER, { error: `after must be one of ${SNAPSHOT_AFTER.join(', ')}` }).nullish(),
});

export function parseSnapshot(body: unknown): { after: SnapshotAfter } {
  return { after: parseWith(snapshotSchema, body).after ?? 'resume' };
}

export function parseVersion(value: unknown, field = 'version'): string {
  if (typeof value !== 'string' || !VERSION_PATTERN.test(value)) {
    bad(field, `${field} must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return value;
}

const FORMATS: Record<string, ArchiveFormat> = {
  'tar.zst': 'tar.zst', zst: 'tar.zst', zstd: 'tar.zst', 'tar.zstd': 'tar.zst',
  'tar.gz': 'tar.gz', gz: 'tar.gz', gzip: 'tar.gz', tgz: 'tar.gz',
};

/** An absolute, normalised path of the workspace's filesystem (not `/` itself). */
export function parseVmPath(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 4096 || /[\0\n]/.test(value)) {
    bad(field, `${field} must be an absolute path`);
  }
  const parts = value.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) bad(field, `${field} must not contain '..'`);
  if (parts.length === 0) bad(field, `${field} must name a path below / (leave vm_paths out for the whole layer)`);
  return `/${parts.join('/')}`;
}

function vmPaths(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(field, `${field} must be an array of absolute paths`);
  if (value.length > MAX_VM_PATHS) bad(field, `${field} may have at most ${MAX_VM_PATHS} entries`);
  return [...new Set(value.map((v, i) => parseVmPath(v, `${field}[${i}]`)))];
}

export function parseArchiveCreate(body: unknown): ArchiveCreateCommand {
  const b = object(body);
  const format = b.format === undefined || b.format === null ? 'tar.zst' : FORMATS[String(b.format).toLowerCase()];
  if (!format) bad('format', `format must be one of ${Object.keys(FORMATS).join(', ')}`);
  return {
    version: b.version === undefined || b.version === null || b.version === '' ? null : parseVersion(b.version),
    format,
    vmPaths: vmPaths(b.vm_paths, 'vm_paths'),
    excludeVmPaths: vmPaths(b.exclude_vm_paths, 'exclude_vm_paths'),
  };
}

export function parseRestore(body: unknown): RestoreCommand {
  const b = object(body);
  const v = b.archive ?? b.version;
  return { archive: v === undefined || v === null ? null : parseVersion(v, b.archive !== undefined ? 'archive' : 'version') };
}

const COUNT_RULE = `count must be an integer between 1 and ${MAX_FORKS}`;

/** POST /workspace/:id/fork (Warren extension): how many copies, and their name. */
export const forkSchema = z.looseObject({
  count: z.union([z.number().int(COUNT_RULE).min(1, COUNT_RULE).max(MAX_FORKS, COUNT_RULE), z.string().regex(/^\d+$/, COUNT_RULE)], { error: COUNT_RULE })
    .nullish()
    .refine((v) => v === undefined || v === null || typeof v === 'number' || (Number(v) >= 1 && Number(v) <= MAX_FORKS), COUNT_RULE),
  name: z.string({ error: 'name must be a string of at most 240 characters' }).max(240, 'name must be a string of at most 240 characters').nullish(),
});

export function parseFork(body: unknown): ForkCommand {
  const b = parseWith(forkSchema, body, { name: 'INVALID_NAME_LENGTH' });
  return { count: b.count === undefined || b.count === null ? 1 : Number(b.count), name: b.name ?? null };
}

/** `true`/`1` query flags (delete_file, delete_files, archive). */
export function queryFlag(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

/** The file name of an archive in its workspace's archive directory. */
export function archiveFileName(version: string, format: ArchiveFormat): string {
  return `${parseVersion(version)}.${format}`;
}
