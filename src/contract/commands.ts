/**
 * Request bodies → typed commands for the workspace resource. Only shape and type
 * checks happen here; range checks against the operator's limits happen in the
 * domain (parseConfig) because the limits are configuration, not contract.
 */
import { fail, MODES, DEFAULT_MODE, NAMESPACE, SLUG } from './workspace.js';

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

function asObject(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    fail('validation_error', 'body', 'Request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function parseName(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail('INVALID_NAME_LENGTH', 'name', 'name must be a string of at most 255 characters');
  if (v.length > 255) fail('INVALID_NAME_LENGTH', 'name', 'name must be at most 255 characters');
  return v;
}

function parseSlug(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !SLUG.test(v) || v.startsWith('ws_')) {
    fail('validation_error', 'slug', 'slug must be 3–128 characters of lowercase letters, digits and hyphens');
  }
  return v;
}

function parseNamespace(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string' || !NAMESPACE.test(v)) {
    fail('INVALID_NAMESPACE', 'namespace', 'namespace may contain only letters, digits and hyphens (max 63)');
  }
  return v;
}

/** Top-level aliases the clients send instead of config fields (control-plane.md §2). */
const TOP_LEVEL_ALIASES: Array<[string, string]> = [
  ['cpus', 'cpus'], ['vcpus', 'cpus'],
  ['memory_mb', 'memory_mb'], ['ram_mb', 'memory_mb'],
  ['disk_size_mb', 'disk_size_mb'], ['disk_mb', 'disk_size_mb'], ['writable_size_mb', 'writable_size_mb'],
];

function foldConfig(b: Record<string, unknown>): Record<string, unknown> {
  const cfg = b.config;
  if (cfg !== undefined && cfg !== null && (typeof cfg !== 'object' || Array.isArray(cfg))) {
    fail('INVALID_CONFIG', 'config', 'config must be an object');
  }
  const out: Record<string, unknown> = { ...((cfg as Record<string, unknown> | undefined) ?? {}) };
  for (const [alias, key] of TOP_LEVEL_ALIASES) {
    if (b[alias] !== undefined && out[key] === undefined) out[key] = b[alias];
  }
  return out;
}

export function parseCreateWorkspace(body: unknown): CreateWorkspaceCommand {
  const b = asObject(body);
  if (typeof b.image !== 'string' || b.image.trim() === '') {
    fail('INVALID_IMAGE', 'image', 'image is required and must be a non-empty string');
  }
  const mode = b.mode ?? DEFAULT_MODE;
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    fail('validation_error', 'mode', 'mode must be "permanent" or "temporary"');
  }
  const key = b.idempotency_key ?? b.idempotencyKey;
  if (key !== undefined && key !== null && (typeof key !== 'string' || key.length === 0 || key.length > 255)) {
    fail('validation_error', 'idempotency_key', 'idempotency_key must be a string of 1–255 characters');
  }
  return {
    image: b.image.trim(),
    name: parseName(b.name),
    slug: parseSlug(b.slug),
    namespace: parseNamespace(b.namespace),
    mode: mode as CreateWorkspaceCommand['mode'],
    rawConfig: foldConfig(b),
    idempotencyKey: (key as string | undefined) ?? null,
  };
}

/**
 * Updatable: name, slug, config (seed + SDK). `logo` and the MCP's
 * `auto_stop_seconds` are accepted and ignored so those clients keep working;
 * other unknown fields are rejected, as the seed says.
 */
const IGNORED_UPDATE_FIELDS = new Set(['logo', 'auto_stop_seconds']);

export function parseUpdateWorkspace(body: unknown): UpdateWorkspaceCommand {
  const b = asObject(body);
  for (const k of Object.keys(b)) {
    const alias = TOP_LEVEL_ALIASES.some(([a]) => a === k);
    if (!['name', 'slug', 'config'].includes(k) && !alias && !IGNORED_UPDATE_FIELDS.has(k)) {
      fail('validation_error', k, `Field ${k} cannot be updated; only name, slug and config can`);
    }
  }
  const cmd: UpdateWorkspaceCommand = {};
  if (b.name !== undefined) {
    const name = parseName(b.name);
    if (name === null) fail('INVALID_NAME_LENGTH', 'name', 'name must be a string');
    cmd.name = name;
  }
  if (b.slug !== undefined) cmd.slug = parseSlug(b.slug);
  const folded = foldConfig(b);
  if (b.config !== undefined || Object.keys(folded).length > 0) cmd.rawConfig = folded;
  return cmd;
}
