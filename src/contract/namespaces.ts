/**
 * Namespaces (control-plane.md §21): create / ensure / update bodies and the list query,
 * parsed into typed commands. The SDK sends `isDefault` (camel) and `resource_limits`
 * (snake); numbers may arrive as strings from the CLI. Every refusal names its field.
 */
import { AppError } from './errors.js';

export const NAMESPACE_TYPES = ['default', 'production', 'staging', 'development', 'testing'] as const;
export const NAMESPACE_STATUSES = ['active', 'inactive', 'suspended'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];
export type NamespaceStatus = (typeof NAMESPACE_STATUSES)[number];

/** Totals a namespace's workspaces may own together; null fields inherit the plan. */
export interface NamespaceLimits {
  max_workspaces: number | null;
  max_vcpus: number | null;
  max_ram_mb: number | null;
  max_disk_gb: number | null;
}

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

export interface NamespaceFields {
  name?: string;
  slug?: string;
  description?: string | null;
  type?: NamespaceType;
  status?: NamespaceStatus;
  is_default?: boolean;
  metadata?: Record<string, string>;
  tags?: string[];
  resource_limits?: NamespaceLimits | null;
}

/** Slug from a name: lower case, runs of other characters become one hyphen. */
export function slugify(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '') || 'namespace';
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) fail('body', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Fields of a create, ensure or update body; `allowStatus` only for updates. */
export function parseNamespaceFields(body: unknown, allowStatus: boolean): NamespaceFields {
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

export interface NamespaceListQuery {
  limit: number;
  offset: number;
  status: NamespaceStatus | null;
  type: NamespaceType | null;
  search: string | null;
  sortBy: 'name' | 'slug' | 'created_at' | 'updated_at' | 'type' | 'status';
  sortOrder: 'asc' | 'desc';
}

const SORTS = ['name', 'slug', 'created_at', 'updated_at', 'type', 'status'] as const;
const CAMEL_SORTS: Record<string, string> = { createdAt: 'created_at', updatedAt: 'updated_at' };

function int(v: string | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(field, `${field} must be a whole number from ${min} to ${max}`);
  return n;
}

export function parseNamespaceList(q: Record<string, string | undefined>): NamespaceListQuery {
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

export function parsePage(q: Record<string, string | undefined>): { limit: number; offset: number } {
  return { limit: int(q.limit, 'limit', 50, 1, 500), offset: int(q.offset, 'offset', 0, 0, 1_000_000) };
}

export function parseDays(q: Record<string, string | undefined>): number {
  return int(q.days, 'days', 30, 1, 365);
}
