/**
 * Namespaces (control-plane.md §21): create / ensure / update bodies and the list query,
 * parsed into typed commands. The SDK sends `isDefault` (camel) and `resource_limits`
 * (snake); numbers may arrive as strings from the CLI. Every refusal names its field.
 */
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

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
const META_KEY = /^[\x21-\x7e]{1,128}$/;

// ---- text rules, shared by the field schemas and the item refinements ----

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f]/;
const textRule = (field: string, max: number) => `${field} must be at most ${max} printable characters`;
/** The fault of a text value (judged trimmed), or null. */
function textFault(v: unknown, field: string, max: number): string | null {
  if (typeof v !== 'string') return `${field} must be a string`;
  const t = v.trim();
  return t.length > max || CONTROL.test(t) ? textRule(field, max) : null;
}

/** A string of at most `max` printable characters once trimmed (the output is trimmed by the parser). */
function text(field: string, max: number) {
  return z.string({ error: `${field} must be a string` })
    .refine((v) => textFault(v, field, max) === null, textRule(field, max));
}

const oneOfRule = (field: string, values: readonly string[]) => `${field} must be one of: ${values.join(', ')}`;

/** A whole number from 0 to 1,000,000 (or its text); null or absent inherits the plan. */
function limit(field: string) {
  const rule = `${field} must be a whole number from 0, or null`;
  return z.union([z.number(), z.string()], { error: rule }).refine((v) => {
    const n = typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v;
    return Number.isInteger(n) && n >= 0 && n <= 1_000_000;
  }, rule).nullish();
}

const limitsField = z.looseObject({
  max_workspaces: limit('resource_limits.max_workspaces'),
  max_vcpus: limit('resource_limits.max_vcpus'),
  max_ram_mb: limit('resource_limits.max_ram_mb'),
  max_disk_gb: limit('resource_limits.max_disk_gb'),
}, { error: 'resource_limits must be an object or null' }).nullable();

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Up to 64 entries of printable keys and text values. Judged in order by one refinement over
 * the input map itself, so a bad key names `metadata.<first 64 characters>` and a bad value
 * `metadata.<key>`, as the wire always has; `meta` documents what the refinement enforces.
 */
const metadataField = z.custom<Record<string, unknown>>(isMap, { error: 'metadata must be an object of strings' })
  .superRefine((map, ctx) => {
    const entries = Object.entries(map);
    if (entries.length > MAX_META) return ctx.addIssue({ code: 'custom', message: `metadata has more than ${MAX_META} keys` });
    for (const [k, v] of entries) {
      if (!META_KEY.test(k)) return ctx.addIssue({ code: 'custom', path: [k.slice(0, 64)], message: 'metadata keys must be 1-128 printable characters' });
      const fault = textFault(typeof v === 'number' || typeof v === 'boolean' ? String(v) : v, `metadata.${k}`, 4096);
      if (fault) return ctx.addIssue({ code: 'custom', path: [k], message: fault });
    }
  })
  .meta({
    type: 'object', maxProperties: MAX_META, propertyNames: { pattern: META_KEY.source },
    additionalProperties: { type: ['string', 'number', 'boolean'], maxLength: 4096 },
  });

const TAGS_RULE = `tags must be an array of at most ${MAX_TAGS} strings`;
/** Up to 32 texts of at most 64 characters; a bad item names `tags[i]`. */
const tagsField = z.array(z.unknown(), { error: TAGS_RULE }).max(MAX_TAGS, TAGS_RULE)
  .superRefine((tags, ctx) => {
    for (const [i, t] of tags.entries()) {
      const fault = textFault(t, `tags[${i}]`, 64);
      if (fault) return ctx.addIssue({ code: 'custom', path: [i], message: fault });
    }
  })
  .meta({ items: { type: 'string', maxLength: 64 } });

/**
 * Create / ensure (`allowStatus` false: status is set by suspend / activate) and update bodies.
 * Fields are judged in this order. `is_default` is folded into `isDefault` before parsing.
 */
function namespaceBody(allowStatus: boolean) {
  const status = allowStatus
    ? z.enum(NAMESPACE_STATUSES, { error: oneOfRule('status', NAMESPACE_STATUSES) }).optional()
    : z.never({ error: 'status is set by suspend / activate' }).optional();
  return z.looseObject({
    name: text('name', 100).refine((v) => v.trim() !== '', 'name must not be empty').optional(),
    slug: z.union([text('slug', 63), z.null()]).refine((v) => typeof v !== 'string' || v === '' || SLUG.test(v.trim()),
      'slug must be lower-case letters, digits and hyphens (max 63), not starting or ending with a hyphen').optional()
      .describe('Derived from the name when absent, null or empty'),
    description: text('description', 1000).nullable().optional(),
    type: z.enum(NAMESPACE_TYPES, { error: oneOfRule('type', NAMESPACE_TYPES) }).optional(),
    status,
    isDefault: z.boolean({ error: 'isDefault must be true or false' }).optional(),
    is_default: z.boolean().optional().describe('Alias of isDefault (isDefault wins)'),
    metadata: metadataField.nullish(),
    tags: tagsField.nullish(),
    resource_limits: limitsField.optional(),
  });
}

/** POST /namespaces and /namespaces/ensure. */
export const namespaceCreateSchema = namespaceBody(false);
/** PUT /namespaces/:id. */
export const namespaceUpdateSchema = namespaceBody(true);

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

/** Absent, null or '' becomes 0 or null as the field's default; numbers arrive as text too. */
const limitNumber = (v: number | string | null | undefined): number | null => (v === undefined || v === null ? null : Number(v));

/** The body with `is_default` folded into `isDefault` (its faults name `isDefault`), `is_default` then left out. */
function folded(body: unknown): unknown {
  if (body === undefined || body === null) return {};
  if (!isMap(body)) return body;
  const { is_default: alias, ...rest } = body;
  return { ...rest, isDefault: body.isDefault ?? alias };
}

/** Fields of a create, ensure or update body; `allowStatus` only for updates. */
export function parseNamespaceFields(body: unknown, allowStatus: boolean): NamespaceFields {
  const b = parseWith(allowStatus ? namespaceUpdateSchema : namespaceCreateSchema, folded(body));
  const out: NamespaceFields = {};
  if (b.name !== undefined) out.name = b.name.trim();
  if (typeof b.slug === 'string' && b.slug !== '') out.slug = b.slug.trim();
  if (b.description !== undefined) out.description = b.description === null ? null : b.description.trim();
  if (b.type !== undefined) out.type = b.type;
  if (b.status !== undefined) out.status = b.status;
  if (b.isDefault !== undefined) out.is_default = b.isDefault;
  if (b.metadata !== undefined && b.metadata !== null) {
    out.metadata = Object.fromEntries(Object.entries(b.metadata).map(([k, v]) => [k, String(v).trim()]));
  }
  if (b.tags !== undefined && b.tags !== null) out.tags = [...new Set((b.tags as string[]).map((t) => t.trim()).filter(Boolean))];
  if (b.resource_limits !== undefined) {
    const l = b.resource_limits;
    out.resource_limits = l === null ? null : {
      max_workspaces: limitNumber(l.max_workspaces), max_vcpus: limitNumber(l.max_vcpus),
      max_ram_mb: limitNumber(l.max_ram_mb), max_disk_gb: limitNumber(l.max_disk_gb),
    };
  }
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
const ORDERS = ['asc', 'desc'] as const;

/** A whole number from `min` to `max` as text; absent or '' takes the default. */
function int(field: string, min: number, max: number, dflt: number) {
  const rule = `${field} must be a whole number from ${min} to ${max}`;
  return z.string({ error: rule }).refine((v) => {
    if (v === '') return true;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max;
  }, rule).optional().describe(`${min}–${max}, default ${dflt}`);
}
const intOf = (v: string | undefined, dflt: number): number => (v === undefined || v === '' ? dflt : Number(v));

/** One of `values`, or '' (as if absent). */
function choice(field: string, values: readonly string[]) {
  return z.enum(['', ...values] as [string, ...string[]], { error: oneOfRule(field, values) }).optional().describe(values.join(' | '));
}

/** GET /namespaces and /credits/namespaces. Parameters are judged in this order. */
export const namespaceListQuerySchema = z.object({
  limit: int('limit', 1, 500, 50),
  offset: int('offset', 0, 1_000_000, 0),
  status: choice('status', NAMESPACE_STATUSES),
  type: choice('type', NAMESPACE_TYPES),
  search: text('search', 100).optional().describe('Text in name, slug or description'),
  sortBy: choice('sortBy', [...SORTS, ...Object.keys(CAMEL_SORTS)]),
  sortOrder: z.string({ error: oneOfRule('sortOrder', ORDERS) })
    .refine((v) => (ORDERS as readonly string[]).includes(v.toLowerCase()), oneOfRule('sortOrder', ORDERS)).optional().describe('asc | desc'),
});

export function parseNamespaceList(q: Record<string, string | undefined>): NamespaceListQuery {
  const b = parseWith(namespaceListQuerySchema, q);
  return {
    limit: intOf(b.limit, 50),
    offset: intOf(b.offset, 0),
    status: (b.status || null) as NamespaceStatus | null,
    type: (b.type || null) as NamespaceType | null,
    search: b.search ? b.search.trim().toLowerCase() : null,
    sortBy: (b.sortBy ? CAMEL_SORTS[b.sortBy] ?? b.sortBy : 'created_at') as NamespaceListQuery['sortBy'],
    sortOrder: (b.sortOrder ?? 'asc').toLowerCase() as NamespaceListQuery['sortOrder'],
  };
}

/** GET /namespaces/:id/activity: `limit`, `offset`. */
export const pageQuerySchema = z.object({ limit: int('limit', 1, 500, 50), offset: int('offset', 0, 1_000_000, 0) });

export function parsePage(q: Record<string, string | undefined>): { limit: number; offset: number } {
  const b = parseWith(pageQuerySchema, q);
  return { limit: intOf(b.limit, 50), offset: intOf(b.offset, 0) };
}

/** GET /namespaces/:id/usage and /credits/namespaces/:namespace: `days`. */
export const daysQuerySchema = z.object({ days: int('days', 1, 365, 30) });

export function parseDays(q: Record<string, string | undefined>): number {
  return intOf(parseWith(daysQuerySchema, q).days, 30);
}
