/**
 * The operator's quota file (`--quota-file` / WARREN_QUOTA_FILE), JSON:
 *
 *   { "plan": "team", "plan_label": "Team",
 *     "limits": { "cpus": {"min":1,"max":4,"default":1}, "memory_mb": {…}, "writable_size_mb": {…} },
 *     "max_workspaces": 100,
 *     "pool":         { "cpus": 64, "memory_mb": 65536, "disk_mb": 1048576 },
 *     "running_pool": { "cpus": 32, "memory_mb": 32768, "disk_mb": 1048576 },
 *     "namespace_defaults": { "max_workspaces": 20, "pool": {…}, "running_pool": {…} },
 *     "namespaces": { "team-a": { "max_workspaces": 10, "pool": { "memory_mb": 8192 } } } }
 *
 * Every field is optional. Global numbers: environment (WARREN_MAX_WORKSPACES, WARREN_POOL_*,
 * WARREN_RUNNING_*) over this file over the host's defaults (src/domain/policy.ts). A
 * malformed file stops the start with the field that is wrong.
 */
import { readFileSync } from 'node:fs';
import type { ResourceLimit, ResourceLimits } from '../contract/workspace.js';
import type { NamespacePoolPolicy, Pool } from '../domain/quota.js';

export interface QuotaFile {
  plan?: string;
  planLabel?: string;
  limits?: Partial<ResourceLimits>;
  maxSandboxes?: number;
  pool?: Partial<Pool>;
  runningPool?: Partial<Pool>;
  namespaceDefault?: NamespacePoolPolicy;
  namespaces?: Record<string, NamespacePoolPolicy>;
}

type Obj = Record<string, unknown>;

function bad(path: string, msg: string): never {
  throw new Error(`quota file: ${path} ${msg}`);
}

function obj(v: unknown, path: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad(path, 'must be an object');
  return v as Obj;
}

function count(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(path, 'must be a number ≥ 0');
  return v;
}

function pool(v: unknown, path: string): Partial<Pool> | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, path);
  const out: Partial<Pool> = {};
  for (const k of ['cpus', 'memory_mb', 'disk_mb'] as const) {
    const n = count(o[k], `${path}.${k}`);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function limit(v: unknown, path: string): ResourceLimit {
  const o = obj(v, path);
  const [min, max, dflt] = [count(o.min, `${path}.min`), count(o.max, `${path}.max`), count(o.default, `${path}.default`)];
  if (min === undefined || max === undefined || dflt === undefined) bad(path, 'needs min, max and default');
  if (!(min <= dflt && dflt <= max)) bad(path, 'needs min ≤ default ≤ max');
  return { min, max, default: dflt };
}

function nsPolicy(v: unknown, path: string): NamespacePoolPolicy {
  const o = obj(v, path);
  return { maxSandboxes: count(o.max_workspaces, `${path}.max_workspaces`), pool: pool(o.pool, `${path}.pool`), runningPool: pool(o.running_pool, `${path}.running_pool`) };
}

export function parseQuotaFile(v: unknown): QuotaFile {
  const o = obj(v, '(top level)');
  const out: QuotaFile = {};
  if (o.plan !== undefined) out.plan = String(o.plan);
  if (o.plan_label !== undefined) out.planLabel = String(o.plan_label);
  if (o.limits !== undefined) {
    const l = obj(o.limits, 'limits');
    out.limits = {};
    for (const k of ['cpus', 'memory_mb', 'writable_size_mb'] as const) if (l[k] !== undefined) out.limits[k] = limit(l[k], `limits.${k}`);
  }
  out.maxSandboxes = count(o.max_workspaces, 'max_workspaces');
  out.pool = pool(o.pool, 'pool');
  out.runningPool = pool(o.running_pool, 'running_pool');
  if (o.namespace_defaults !== undefined) out.namespaceDefault = nsPolicy(o.namespace_defaults, 'namespace_defaults');
  if (o.namespaces !== undefined) {
    out.namespaces = {};
    for (const [slug, p] of Object.entries(obj(o.namespaces, 'namespaces'))) out.namespaces[slug] = nsPolicy(p, `namespaces.${slug}`);
  }
  return out;
}

export function loadQuotaFile(path: string | undefined): QuotaFile {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`quota file ${path} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`quota file ${path} is not valid JSON`);
  }
  return parseQuotaFile(json);
}
