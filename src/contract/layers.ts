/**
 * Bodies and path parameters of snapshots, archives, restore and fork
 * (control-plane.md §10 and Warren's fork extension), parsed into typed commands. Every
 * failure is an AppError with a stable code and `details.field`.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { isOn } from './query-text.js';
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

const VERSION_RULE = "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit";
const version = z.string({ error: VERSION_RULE }).regex(VERSION_PATTERN, VERSION_RULE);

/** An absolute path below `/`, normalised (`//`, `.` and a trailing `/` dropped; `..` refused). */
const vmPath = z.string({ error: 'must be an absolute path' })
  .refine((v) => v.startsWith('/') && v.length <= 4096 && !/[\0\n]/.test(v), 'must be an absolute path')
  .transform((v, ctx) => {
    const parts = v.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) ctx.addIssue({ code: 'custom', message: "must not contain '..'" });
    else if (parts.length === 0) ctx.addIssue({ code: 'custom', message: 'must name a path below / (leave vm_paths out for the whole layer)' });
    return `/${parts.join('/')}`;
  });

/** An absolute, normalised path of the workspace's filesystem (not `/` itself). */
export function parseVmPath(value: unknown, field: string): string {
  const r = vmPath.safeParse(value);
  if (!r.success) bad(field, `${field} ${r.error.issues[0]?.message ?? 'must be an absolute path'}`);
  return r.data;
}

/** At most MAX_VM_PATHS paths (the count judged before the entries), de-duplicated; absent or null: none. */
function vmPaths(field: string) {
  const { $schema: _drop, ...items } = z.toJSONSchema(vmPath, { io: 'input' });
  return z.array(z.unknown(), { error: `${field} must be an array of absolute paths` })
    .max(MAX_VM_PATHS, `${field} may have at most ${MAX_VM_PATHS} entries`)
    .pipe(z.array(vmPath)).transform((v) => [...new Set(v)])
    .meta({ items })
    .nullish();
}

const FORMAT_RULE = `format must be one of ${Object.keys(FORMATS).join(', ')}`;

/** POST /workspace/:id/archives. `format` is judged first; any value is read as text (as it always was). */
export const archiveCreateSchema = z.looseObject({
  format: z.unknown()
    .transform((v, ctx) => {
      if (v === undefined || v === null) return 'tar.zst' as ArchiveFormat;
      const format = FORMATS[String(v).toLowerCase()];
      if (!format) ctx.addIssue({ code: 'custom', message: FORMAT_RULE });
      return format ?? z.NEVER;
    })
    .meta({ type: 'string', enum: Object.keys(FORMATS), default: 'tar.zst', description: 'Case-insensitive' })
    .optional(),
  version: z.union([z.literal(''), version]).nullish().describe('Generated when absent'),
  vm_paths: vmPaths('vm_paths').describe('Only these paths of the writable layer (default: all of it)'),
  exclude_vm_paths: vmPaths('exclude_vm_paths'),
});

export function parseArchiveCreate(body: unknown): ArchiveCreateCommand {
  const b = parseWith(archiveCreateSchema, body);
  return { version: b.version || null, format: b.format ?? 'tar.zst', vmPaths: b.vm_paths ?? [], excludeVmPaths: b.exclude_vm_paths ?? [] };
}

/** POST /workspace/:id/restore `{ archive? }` (`version` is an alias; `archive` wins, and names the field even when null). */
export const restoreSchema = z.looseObject({
  archive: z.unknown().meta({ type: 'string', pattern: VERSION_PATTERN.source, description: 'An archive version (default: the latest snapshot)' }).optional(),
  version: z.unknown().meta({ type: 'string', description: 'Alias of archive' }).optional(),
}).transform((b, ctx): RestoreCommand => {
  const v = b.archive ?? b.version;
  if (v === undefined || v === null) return { archive: null };
  const field = b.archive !== undefined ? 'archive' : 'version';
  const r = version.safeParse(v);
  if (!r.success) {
    ctx.addIssue({ code: 'custom', message: `${field} ${VERSION_RULE}`, path: [field] });
    return z.NEVER;
  }
  return { archive: r.data };
});

export function parseRestore(body: unknown): RestoreCommand {
  return parseWith(restoreSchema, body);
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

/** DELETE /workspace/:id/archives/:version: `delete_file` (`true`/`1`; any other text is false) deletes the file too. */
export const archiveDeleteQuerySchema = z.object({ delete_file: z.string().optional().describe('true or 1 to delete the file too') });
/** DELETE /workspace/:id/archives: `delete_files` (`true`/`1`; any other text is false) deletes the files too. */
export const archivesDeleteQuerySchema = z.object({ delete_files: z.string().optional().describe('true or 1 to delete the files too') });

export function parseArchiveDelete(q: Record<string, string | undefined>): { fileToo: boolean } {
  return { fileToo: isOn(parseWith(archiveDeleteQuerySchema, q).delete_file) };
}

export function parseArchivesDelete(q: Record<string, string | undefined>): { filesToo: boolean } {
  return { filesToo: isOn(parseWith(archivesDeleteQuerySchema, q).delete_files) };
}

/** The file name of an archive in its workspace's archive directory. */
export function archiveFileName(version: string, format: ArchiveFormat): string {
  return `${parseVersion(version)}.${format}`;
}
