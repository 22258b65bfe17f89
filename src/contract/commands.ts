/**
 * Request bodies → typed commands for the workspace resource. Only shape and type
 * checks happen here; range checks against the operator's limits happen in the
 * domain (parseConfig) because the limits are configuration, not contract.
 */
import { z } from 'zod';
import { MODES, DEFAULT_MODE, NAMESPACE, SLUG } from './workspace.js';
import { parseWith, type FieldCodes } from './zod-parse.js';

export interface CreateWorkspaceCommand {
  image: string;
  name: string | null;
  slug: string | null;
  namespace: string | null;
  mode: (typeof MODES)[number];
  /** `config` with the SDK/MCP top-level aliases folded in; validated by the domain. */
  rawConfig: Record<string, unknown>;
  idempotencyKey: string | null;
}

export interface UpdateWorkspaceCommand {
  name?: string;
  slug?: string | null;
  rawConfig?: Record<string, unknown>;
}

const SLUG_RULE = 'slug must be 3–128 characters of lowercase letters, digits and hyphens';
const NAMESPACE_RULE = 'namespace may contain only letters, digits and hyphens (max 63)';

const nameField = z.string({ error: 'name must be a string of at most 255 characters' })
  .max(255, 'name must be at most 255 characters').nullish();
const slugField = z.string({ error: SLUG_RULE })
  .refine((v) => v === '' || (SLUG.test(v) && !v.startsWith('ws_')), SLUG_RULE).nullish();
const namespaceField = z.string({ error: NAMESPACE_RULE }).refine((v) => v === '' || NAMESPACE.test(v), NAMESPACE_RULE).nullish();
const configField = z.looseObject({}, { error: 'config must be an object' }).nullish()
  .describe('Workspace config (control-plane.md §2); checked against the operator\'s limits by the domain');
const sizes = {
  cpus: z.unknown().optional(), vcpus: z.unknown().optional(), memory_mb: z.unknown().optional(), ram_mb: z.unknown().optional(),
  disk_size_mb: z.unknown().optional(), disk_mb: z.unknown().optional(), writable_size_mb: z.unknown().optional(),
};
const idempotencyKey = z.string({ error: 'idempotency_key must be a string of 1–255 characters' })
  .min(1, 'idempotency_key must be a string of 1–255 characters').max(255, 'idempotency_key must be a string of 1–255 characters').nullish();

/** POST /workspace (seed 004): the schema is the parser; keys in the order they are judged. */
export const createWorkspaceSchema = z.looseObject({
  image: z.string({ error: 'image is required and must be a non-empty string' })
    .refine((v) => v.trim() !== '', 'image is required and must be a non-empty string'),
  mode: z.enum(MODES, { error: 'mode must be "permanent" or "temporary"' }).optional(),
  idempotency_key: idempotencyKey,
  idempotencyKey: idempotencyKey,
  name: nameField,
  slug: slugField,
  namespace: namespaceField,
  config: configField,
  ...sizes,
});

/** The seed's code for each field of a create or an update. */
const WORKSPACE_FIELD_CODES: FieldCodes = {
  image: 'INVALID_IMAGE', name: 'INVALID_NAME_LENGTH', namespace: 'INVALID_NAMESPACE', config: 'INVALID_CONFIG',
};

/** Top-level aliases the clients send instead of config fields (control-plane.md §2). */
const TOP_LEVEL_ALIASES: Array<[string, string]> = [
  ['cpus', 'cpus'], ['vcpus', 'cpus'],
  ['memory_mb', 'memory_mb'], ['ram_mb', 'memory_mb'],
  ['disk_size_mb', 'disk_size_mb'], ['disk_mb', 'disk_size_mb'], ['writable_size_mb', 'writable_size_mb'],
];

function foldConfig(b: Record<string, unknown>): Record<string, unknown> {
  const cfg = b.config; // an object or nullish: the schemas checked it
  const out: Record<string, unknown> = { ...((cfg as Record<string, unknown> | undefined) ?? {}) };
  for (const [alias, key] of TOP_LEVEL_ALIASES) {
    if (b[alias] !== undefined && out[key] === undefined) out[key] = b[alias];
  }
  return out;
}

export function parseCreateWorkspace(body: unknown): CreateWorkspaceCommand {
  const b = parseWith(createWorkspaceSchema, body, WORKSPACE_FIELD_CODES);
  return {
    image: b.image.trim(),
    name: b.name ?? null,
    slug: b.slug || null,
    namespace: b.namespace || null,
    mode: b.mode ?? DEFAULT_MODE,
    rawConfig: foldConfig(b),
    idempotencyKey: b.idempotency_key ?? b.idempotencyKey ?? null,
  };
}

/**
 * Updatable: name, slug, config (seed + SDK). `logo` and the MCP's
 * `auto_stop_seconds` are accepted and ignored so those clients keep working;
 * other unknown fields are rejected, as the seed says.
 */
const IGNORED_UPDATE_FIELDS = new Set(['logo', 'auto_stop_seconds']);

const UPDATABLE = new Set(['name', 'slug', 'config', ...TOP_LEVEL_ALIASES.map(([a]) => a), ...IGNORED_UPDATE_FIELDS]);

/** PUT /workspace/:id, judged first: a field that cannot be updated is refused by its own name. */
const updatableKeys = z.looseObject({}).superRefine((b, ctx) => {
  for (const k of Object.keys(b)) {
    if (!UPDATABLE.has(k)) ctx.addIssue({ code: 'custom', path: [k], message: `Field ${k} cannot be updated; only name, slug and config can` });
  }
});

/** PUT /workspace/:id: name, slug, config and the size aliases (`logo`, `auto_stop_seconds` accepted and ignored). */
export const updateWorkspaceSchema = z.strictObject({
  name: z.string({ error: 'name must be a string' }).max(255, 'name must be at most 255 characters').optional(),
  slug: slugField,
  config: configField,
  ...sizes,
  logo: z.unknown().optional(),
  auto_stop_seconds: z.unknown().optional(),
});

export function parseUpdateWorkspace(body: unknown): UpdateWorkspaceCommand {
  parseWith(updatableKeys, body);
  const b = parseWith(updateWorkspaceSchema, body, WORKSPACE_FIELD_CODES);
  const cmd: UpdateWorkspaceCommand = {};
  if (b.name !== undefined) cmd.name = b.name;
  if (b.slug !== undefined) cmd.slug = b.slug || null;
  const folded = foldConfig(b);
  if (b.config !== undefined || Object.keys(folded).length > 0) cmd.rawConfig = folded;
  return cmd;
}
