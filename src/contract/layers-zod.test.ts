/**
 * The archive-create and restore bodies are parsed by their zod schemas (archiveCreateSchema,
 * restoreSchema). Equivalence: the hand-written parser they replaced is kept below as
 * `legacy…`; over a corpus of valid and invalid bodies both give the same command, or refuse
 * with the same code and `details.field` (clients match on those).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import {
  MAX_VM_PATHS, VERSION_PATTERN, parseArchiveCreate, parseRestore, parseVersion, parseVmPath,
  type ArchiveCreateCommand, type ArchiveFormat, type RestoreCommand,
} from './layers.js';
import { outcome } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parser as it was (legacy, for the equivalence test only) ----
function bad(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function object(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) bad('body', 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}


const LEGACY_FORMATS: Record<string, ArchiveFormat> = {
  'tar.zst': 'tar.zst', zst: 'tar.zst', zstd: 'tar.zst', 'tar.zstd': 'tar.zst',
  'tar.gz': 'tar.gz', gz: 'tar.gz', gzip: 'tar.gz', tgz: 'tar.gz',
};

/** An absolute, normalised path of the workspace's filesystem (not `/` itself). */
function legacyParseVmPath(value: unknown, field: string): string {
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
  return [...new Set(value.map((v, i) => legacyParseVmPath(v, `${field}[${i}]`)))];
}

function legacyParseArchiveCreate(body: unknown): ArchiveCreateCommand {
  const b = object(body);
  const format = b.format === undefined || b.format === null ? 'tar.zst' : LEGACY_FORMATS[String(b.format).toLowerCase()];
  if (!format) bad('format', `format must be one of ${Object.keys(LEGACY_FORMATS).join(', ')}`);
  return {
    version: b.version === undefined || b.version === null || b.version === '' ? null : parseVersion(b.version),
    format,
    vmPaths: vmPaths(b.vm_paths, 'vm_paths'),
    excludeVmPaths: vmPaths(b.exclude_vm_paths, 'exclude_vm_paths'),
  };
}

function legacyParseRestore(body: unknown): RestoreCommand {
  const b = object(body);
  const v = b.archive ?? b.version;
  return { archive: v === undefined || v === null ? null : parseVersion(v, b.archive !== undefined ? 'archive' : 'version') };
}

// ---- end of legacy ----


const paths = (n: number) => Array.from({ length: n }, (_, i) => `/p${i}`);

const ARCHIVE: unknown[] = [
  null, [], 'x', {}, { extra: 1 },
  { format: 'GZIP' }, { format: 'tgz' }, { format: 'tar.zstd' }, { format: null }, { format: 'rar' }, { format: 5 },
  { format: ['gz'] }, { format: true }, { format: '' }, { format: {} },
  { version: 'rel-1.2_x' }, { version: '' }, { version: null }, { version: '.hidden' }, { version: 'a/b' }, { version: 7 },
  { version: 'x'.repeat(64) }, { version: 'x'.repeat(65) },
  { vm_paths: ['/srv//app/', '/srv/app', '/etc/./x'] }, { vm_paths: ['/a/../../etc'] }, { vm_paths: ['/'] }, { vm_paths: ['//./'] },
  { vm_paths: ['rel'] }, { vm_paths: [5] }, { vm_paths: ['/a\nb'] }, { vm_paths: ['/' + 'a'.repeat(4096)] }, { vm_paths: 'x' },
  { vm_paths: null }, { vm_paths: [] }, { vm_paths: paths(MAX_VM_PATHS) }, { vm_paths: paths(MAX_VM_PATHS + 1) },
  { vm_paths: [...paths(MAX_VM_PATHS), 'bad'] }, { vm_paths: ['/ok', '/a/..'] },
  { exclude_vm_paths: ['/tmp', '/tmp/'] }, { exclude_vm_paths: 'x' }, { exclude_vm_paths: ['..'] },
  { format: 'rar', version: '.bad' }, { version: 'v1', format: 'gz', vm_paths: ['/srv'], exclude_vm_paths: ['/srv/cache'] },
];

test('POST /workspace/:id/archives: the zod schema parses as the hand-written parser did', () => {
  for (const body of ARCHIVE) {
    assert.deepEqual(outcome(() => parseArchiveCreate(body)), outcome(() => legacyParseArchiveCreate(body)), JSON.stringify(body)?.slice(0, 120));
  }
});

const RESTORE: unknown[] = [
  null, [], 'x', {}, { archive: 'v3' }, { version: 'v3' }, { archive: null }, { archive: null, version: 'v2' },
  { archive: null, version: '../x' }, { archive: '../x' }, { version: '../x' }, { archive: 5 }, { version: 5 },
  { archive: '' }, { version: '' }, { archive: 'v1', version: '../bad' }, { archive: 'x'.repeat(65) }, { archive: true },
  { archive: ['v1'] }, { other: 'x' }, { archive: '.hidden' }, { version: null },
];

test('POST /workspace/:id/restore: the zod schema parses as the hand-written parser did', () => {
  for (const body of RESTORE) {
    assert.deepEqual(outcome(() => parseRestore(body)), outcome(() => legacyParseRestore(body)), JSON.stringify(body));
  }
});

test('parseVmPath keeps its rules (now the schema\'s)', () => {
  for (const v of ['/a/b/', '/a//./b', '/', '/..', 'rel', 5, '/a\0']) {
    assert.deepEqual(outcome(() => parseVmPath(v, 'p')), outcome(() => legacyParseVmPath(v, 'p')), String(v));
  }
  assert.ok(VERSION_PATTERN.test('v1'));
  const f: ArchiveFormat = 'tar.gz';
  assert.equal(parseArchiveCreate({ format: 'gz' }).format, f);
});
