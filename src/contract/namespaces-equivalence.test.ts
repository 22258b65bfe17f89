/**
 * The namespace bodies and queries became zod schemas (`namespaces.ts`); this holds each parser
 * to the hand-written one it replaced (copied below as `legacy…`) over a corpus of valid and
 * faulty inputs: the same fields, or the same code and `details.field`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import {
  NAMESPACE_STATUSES, NAMESPACE_TYPES, parseDays, parseNamespaceFields, parseNamespaceList, parsePage,
  type NamespaceFields, type NamespaceLimits, type NamespaceListQuery,
} from './namespaces.js';
import { outcome, same } from '../../test/support/parser-equivalence.js';

// ---- the hand-written parsers as they were (src/contract/namespaces.ts before the zod schemas) ----

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_TAGS = 32;
const MAX_META = 64;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') fail(field, `${field} must be a string`);
  const t = v.trim();
  if (t.length > max || /[\x00-\x1f]/.test(t)) fail(field, `${field} must be at most ${max} printable characters`);
  return t;
}

function oneOf<T extends readonly string[]>(v: unknown, values: T, field: string): T[number] {
  if (typeof v !== 'string' || !values.includes(v)) fail(field, `${field} must be one of: ${values.join(', ')}`);
  return v as T[number];
}

function limit(v: unknown, field: string): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1_000_000) fail(field, `${field} must be a whole number from 0, or null`);
  return n;
}

function limits(v: unknown): NamespaceLimits | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) fail('resource_limits', 'resource_limits must be an object or null');
  const o = v as Record<string, unknown>;
  return {
    max_workspaces: limit(o.max_workspaces, 'resource_limits.max_workspaces'),
    max_vcpus: limit(o.max_vcpus, 'resource_limits.max_vcpus'),
    max_ram_mb: limit(o.max_ram_mb, 'resource_limits.max_ram_mb'),
    max_disk_gb: limit(o.max_disk_gb, 'resource_limits.max_disk_gb'),
  };
}

function metadata(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail('metadata', 'metadata must be an object of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_META) fail('metadata', `metadata has more than ${MAX_META} keys`);
  return Object.fromEntries(entries.map(([k, val]) => {
    if (!/^[\x21-\x7e]{1,128}$/.test(k)) fail(`metadata.${k.slice(0, 64)}`, 'metadata keys must be 1-128 printable characters');
    const s = typeof val === 'number' || typeof val === 'boolean' ? String(val) : val;
    return [k, text(s, `metadata.${k}`, 4096)];
  }));
}

function tags(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > MAX_TAGS) fail('tags', `tags must be an array of at most ${MAX_TAGS} strings`);
  return [...new Set(v.map((t, i) => text(t, `tags[${i}]`, 64)).filter(Boolean))];
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) fail('body', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Fields of a create, ensure or update body; `allowStatus` only for updates. */
function legacyParseNamespaceFields(body: unknown, allowStatus: boolean): NamespaceFields {
  const b = asObject(body);
  const out: NamespaceFields = {};
  if (b.name !== undefined) {
    out.name = text(b.name, 'name', 100);
    if (!out.name) fail('name', 'name must not be empty');
  }
  if (b.slug !== undefined && b.slug !== null && b.slug !== '') {
    const slug = text(b.slug, 'slug', 63);
    if (!SLUG.test(slug)) fail('slug', 'slug must be lower-case letters, digits and hyphens (max 63), not starting or ending with a hyphen');
    out.slug = slug;
  }
  if (b.description !== undefined) out.description = b.description === null ? null : text(b.description, 'description', 1000);
  if (b.type !== undefined) out.type = oneOf(b.type, NAMESPACE_TYPES, 'type');
  if (b.status !== undefined) {
    if (!allowStatus) fail('status', 'status is set by suspend / activate');
    out.status = oneOf(b.status, NAMESPACE_STATUSES, 'status');
  }
  const isDefault = b.isDefault ?? b.is_default;
  if (isDefault !== undefined) {
    if (typeof isDefault !== 'boolean') fail('isDefault', 'isDefault must be true or false');
    out.is_default = isDefault;
  }
  if (b.metadata !== undefined && b.metadata !== null) out.metadata = metadata(b.metadata);
  if (b.tags !== undefined && b.tags !== null) out.tags = tags(b.tags);
  if (b.resource_limits !== undefined) out.resource_limits = limits(b.resource_limits);
  return out;
}

const SORTS = ['name', 'slug', 'created_at', 'updated_at', 'type', 'status'] as const;
const CAMEL_SORTS: Record<string, string> = { createdAt: 'created_at', updatedAt: 'updated_at' };

function int(v: string | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(field, `${field} must be a whole number from ${min} to ${max}`);
  return n;
}

function legacyParseNamespaceList(q: Record<string, string | undefined>): NamespaceListQuery {
  const sortBy = q.sortBy ? CAMEL_SORTS[q.sortBy] ?? q.sortBy : 'created_at';
  const order = (q.sortOrder ?? 'asc').toLowerCase();
  return {
    limit: int(q.limit, 'limit', 50, 1, 500),
    offset: int(q.offset, 'offset', 0, 0, 1_000_000),
    status: q.status ? oneOf(q.status, NAMESPACE_STATUSES, 'status') : null,
    type: q.type ? oneOf(q.type, NAMESPACE_TYPES, 'type') : null,
    search: q.search ? text(q.search, 'search', 100).toLowerCase() : null,
    sortBy: oneOf(sortBy, SORTS, 'sortBy'),
    sortOrder: oneOf(order, ['asc', 'desc'] as const, 'sortOrder'),
  };
}

function legacyParsePage(q: Record<string, string | undefined>): { limit: number; offset: number } {
  return { limit: int(q.limit, 'limit', 50, 1, 500), offset: int(q.offset, 'offset', 0, 0, 1_000_000) };
}

function legacyParseDays(q: Record<string, string | undefined>): number {
  return int(q.days, 'days', 30, 1, 365);
}

// ---- the comparison ----



const manyKeys = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
const BODIES: unknown[] = [
  undefined, null, [], 'text', 0, false, 7, {}, { name: 'Prod' }, { name: '  Prod  ' }, { name: '' }, { name: '   ' }, { name: null }, { name: 5 },
  { name: 'x'.repeat(100) }, { name: 'x'.repeat(101) }, { name: 'a\u0001b' }, { name: ' a\n' },
  { slug: 'prod-1' }, { slug: ' prod ' }, { slug: '' }, { slug: null }, { slug: '   ' }, { slug: 'Prod' }, { slug: '-a' }, { slug: 'a-' }, { slug: 5 },
  { slug: 'a'.repeat(63) }, { slug: 'a'.repeat(64) }, { description: null }, { description: ' text ' }, { description: 3 },
  { description: 'd'.repeat(1001) }, ...[...NAMESPACE_TYPES, 'prod', null, ''].map((type) => ({ type })),
  ...[...NAMESPACE_STATUSES, 'gone', null].map((status) => ({ status })),
  { isDefault: true }, { is_default: false }, { isDefault: 'yes' }, { is_default: 'yes' }, { isDefault: null, is_default: true },
  { isDefault: true, is_default: 'x' }, { isDefault: null, is_default: 'x' }, { isDefault: null },
  { metadata: { a: 'b', n: 1, t: true } }, { metadata: { a: ' padded ' } }, { metadata: null }, { metadata: [] }, { metadata: 'x' }, { metadata: false },
  { metadata: manyKeys }, { metadata: { 'bad key': 'v' } }, { metadata: { ['k'.repeat(100)]: {} } }, { metadata: { ['k'.repeat(129)]: 'v' } },
  { metadata: { a: 'x'.repeat(4097) } }, { metadata: { a: 'é'.repeat(4000) } }, { metadata: { a: null } }, { metadata: { a: 'x\u0000' } },
  JSON.parse('{"metadata":{"__proto__":{"a":1}}}'), JSON.parse('{"metadata":{"__proto__":"v","b":"c"}}'),
  { tags: ['a', ' b ', 'a', '', '  '] }, { tags: null }, { tags: 'a' }, { tags: Array(33).fill('t') }, { tags: Array(32).fill('t') },
  { tags: ['ok', 5] }, { tags: ['t'.repeat(65)] }, { tags: ['a\tb'] }, { tags: [] },
  { resource_limits: null }, { resource_limits: {} }, { resource_limits: [] }, { resource_limits: 'x' }, { resource_limits: 5 },
  { resource_limits: { max_workspaces: 5, max_vcpus: '4', max_ram_mb: ' 2048 ', max_disk_gb: null, other: 'x' } },
  { resource_limits: { max_workspaces: -1 } }, { resource_limits: { max_vcpus: 1.5 } }, { resource_limits: { max_ram_mb: '' } },
  { resource_limits: { max_disk_gb: 1_000_001 } }, { resource_limits: { max_disk_gb: true } }, { resource_limits: { max_workspaces: '1e3' } },
  { name: 'A', slug: 'a', description: 'd', type: 'staging', isDefault: false, metadata: { k: 'v' }, tags: ['x'], resource_limits: { max_workspaces: 3 }, extra: 1 },
  { name: '', slug: 'BAD', type: 'x' }, { slug: 'BAD', type: 'x' }, { type: 'x', status: 'x' }, { status: 'x', isDefault: 1 },
  { isDefault: 1, metadata: 1 }, { metadata: 1, tags: 1 }, { tags: 1, resource_limits: 1 },
];

for (const allowStatus of [false, true]) {
  test(`namespace ${allowStatus ? 'update' : 'create / ensure'} bodies: same fields, or same code and field, as the hand-written parser`, () => {
    same(`fields(${allowStatus})`, BODIES, (b) => legacyParseNamespaceFields(b, allowStatus), (b) => parseNamespaceFields(b, allowStatus));
  });
}

const LIST_QUERIES: Record<string, string | undefined>[] = [
  {}, { limit: '10' }, { limit: '' }, { limit: ' ' }, { limit: '0' }, { limit: '500' }, { limit: '501' }, { limit: '1.5' }, { limit: 'x' },
  { limit: '1e2' }, { limit: '0x10' }, { offset: '0' }, { offset: ' ' }, { offset: '-1' }, { offset: '1000001' }, { offset: '20' },
  ...[...NAMESPACE_STATUSES, 'x', ''].map((status) => ({ status })), ...[...NAMESPACE_TYPES, 'x', ''].map((type) => ({ type })),
  { search: 'Prod' }, { search: '  ProD  ' }, { search: ' ' }, { search: '' }, { search: 's'.repeat(101) }, { search: 'a\u0007' },
  ...['name', 'slug', 'created_at', 'updated_at', 'type', 'status', 'createdAt', 'updatedAt', '', 'size', 'constructor', 'toString', 'Name']
    .map((sortBy) => ({ sortBy })),
  ...['asc', 'desc', 'DESC', 'Asc', '', 'up'].map((sortOrder) => ({ sortOrder })),
  { limit: 'x', offset: 'x', status: 'x' }, { status: 'x', type: 'x' }, { search: 'a\u0007', sortBy: 'x' }, { sortBy: 'x', sortOrder: 'x' },
  { limit: '5', offset: '5', status: 'active', type: 'testing', search: 'Q', sortBy: 'updatedAt', sortOrder: 'DESC', page: '3' },
];

test('GET /namespaces and /credits/namespaces: same query, or same code and field, as the hand-written parser', () => {
  same('list', LIST_QUERIES, (q) => legacyParseNamespaceList(q as Record<string, string | undefined>),
    (q) => parseNamespaceList(q as Record<string, string | undefined>));
});

test('activity page and usage days: same numbers, or same code and field, as the hand-written parsers', () => {
  const numbers = ['', ' ', '0', '1', '30', '365', '366', '500', '501', '-1', '1.5', 'x', '1e2', '0x10', '1000000', '1000001', undefined];
  const pages = [...numbers.map((limit) => ({ limit })), ...numbers.map((offset) => ({ offset })), { limit: 'x', offset: 'x' }, { other: 'x' }];
  same('page', pages, (q) => legacyParsePage(q as Record<string, string | undefined>), (q) => parsePage(q as Record<string, string | undefined>));
  const days = [...numbers.map((d) => ({ days: d })), { other: '1' }, { days: '7', limit: 'x' }, { days: ' 45 ' }, { days: '364.0' }];
  same('days', days, (q) => legacyParseDays(q as Record<string, string | undefined>), (q) => parseDays(q as Record<string, string | undefined>));
});

test('the parsed fields keep their types', () => {
  const f: NamespaceFields = parseNamespaceFields({ resource_limits: { max_workspaces: '2' } }, false);
  const l: NamespaceLimits | null | undefined = f.resource_limits;
  assert.deepEqual(l, { max_workspaces: 2, max_vcpus: null, max_ram_mb: null, max_disk_gb: null });
  const q: NamespaceListQuery = parseNamespaceList({});
  assert.deepEqual(q, { limit: 50, offset: 0, status: null, type: null, search: null, sortBy: 'created_at', sortOrder: 'asc' });
});
