/**
 * Wire schemas of the workspace resource (seed 004, control-plane.md §2) and the
 * typed commands they parse into. Parsing never throws anything but AppError with a
 * stable code and `details.field`; the seed's codes are kept (INVALID_NAMESPACE, …).
 */
import { parseConfigWorkloads, type WorkloadSpec } from './workloads.js';
import { z } from 'zod';
import { AppError, type ErrorCode } from './errors.js';
import { parseDuration } from './duration.js';
import { parseIdle, RESTART_POLICIES, TTL_ACTIONS } from './lifecycle.js';

export { RESTART_POLICIES, TTL_ACTIONS };

export const MODES = ['permanent', 'temporary'] as const;
/** Default mode: the SDK's current docs say permanent (spec control-plane.md §2). */
export const DEFAULT_MODE = 'permanent';

/** The network policy stored per workspace (seed 000). */
export interface NetworkPolicy {
  allow_internet: boolean;
  public_access: boolean;
  ingress: string[];
  ingress_ports: number[];
  egress: string[];
  egress_ports: number[];
  private_link_ids: string[];
  outbound_ip: string | null;
}

export function defaultNetworkPolicy(): NetworkPolicy {
  return {
    allow_internet: true,
    public_access: false,
    ingress: [],
    ingress_ports: [],
    egress: [],
    egress_ports: [],
    private_link_ids: [],
    outbound_ip: null,
  };
}

/** Normalised workspace config: every field present, aliases folded. */
export interface WorkspaceConfig {
  cpus: number;
  memory_mb: number;
  disk_size_mb: number;
  ttl: number | null;
  ttl_action: (typeof TTL_ACTIONS)[number];
  remove_on_exit: boolean;
  restart_policy: (typeof RESTART_POLICIES)[number];
  max_restarts: number;
  keep_logs: boolean;
  static_network: boolean;
  network_config: { allow_internet: boolean; public_ingress: boolean };
  ssh_access: boolean;
  env: Array<{ key: string; value: string }>;
  cmd: string[] | null;
  /** The workspace's workloads (control-plane.md §11); enabled ones start at boot, in order. */
  workloads: WorkloadSpec[];
  wait_for_init: boolean;
  proxy_assignment_id: number | null;
  /** Fields accepted for client compatibility and kept verbatim (idle, desktop, ready_check, …). */
  extra: Record<string, unknown>;
}

/** Range and default of a sizeable resource (GET /workspace/quota `limits`). */
export interface ResourceLimit {
  min: number;
  max: number;
  default: number;
}

export interface ResourceLimits {
  cpus: ResourceLimit;
  memory_mb: ResourceLimit;
  writable_size_mb: ResourceLimit;
}

export const DEFAULT_LIMITS: ResourceLimits = {
  cpus: { min: 1, max: 32, default: 1 },
  memory_mb: { min: 128, max: 65536, default: 512 },
  writable_size_mb: { min: 64, max: 204800, default: 512 },
};

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAMESPACE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})$/;
const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,126})[a-z0-9]$/;

function fail(code: ErrorCode, field: string, message: string): never {
  throw new AppError(code, message, { field });
}

/** Numbers may arrive as numeric strings (CLI flags); anything else is a type error. */
function toNumber(v: unknown, field: string, code: ErrorCode): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) fail(code, field, `${field} must be a number`);
  return n;
}

function toBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fail('INVALID_CONFIG', field, `${field} must be a boolean`);
}

function checkRange(n: number, lim: ResourceLimit, field: string, unit: string): number {
  if (n < lim.min || n > lim.max) {
    fail('RESOURCE_NOT_ALLOWED', field, `${field} must be between ${lim.min} and ${lim.max}${unit}`);
  }
  return n;
}

function parseEnv(v: unknown): Array<{ key: string; value: string }> {
  if (!Array.isArray(v)) fail('INVALID_CONFIG', 'config.env', 'config.env must be an array');
  if (v.length > 512) fail('INVALID_CONFIG', 'config.env', 'config.env has more than 512 entries');
  return v.map((item, i) => {
    const field = `config.env[${i}]`;
    let key: unknown;
    let value: unknown;
    if (typeof item === 'string') {
      const eq = item.indexOf('=');
      if (eq <= 0) fail('INVALID_CONFIG', field, `${field} must look like KEY=VALUE`);
      key = item.slice(0, eq);
      value = item.slice(eq + 1);
    } else if (item && typeof item === 'object') {
      key = (item as Record<string, unknown>).key;
      value = (item as Record<string, unknown>).value ?? '';
    }
    if (typeof key !== 'string' || !ENV_KEY.test(key)) fail('INVALID_CONFIG', field, `${field} has an invalid key`);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      fail('INVALID_CONFIG', field, `${field} value must be a string`);
    }
    const str = String(value);
    if (str.includes('\0')) fail('INVALID_CONFIG', field, `${field} value contains a NUL byte`);
    return { key, value: str };
  });
}

function parseCmd(v: unknown): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    if (!v.trim()) fail('INVALID_CONFIG', 'config.cmd', 'config.cmd must not be empty');
    return ['/bin/sh', '-c', v];
  }
  const arr = z.array(z.string().refine((s) => !s.includes('\0'))).min(1).max(1024).safeParse(v);
  if (!arr.success) fail('INVALID_CONFIG', 'config.cmd', 'config.cmd must be a string or a non-empty array of strings');
  return arr.data;
}

function parseEnum<T extends readonly string[]>(v: unknown, values: T, field: string): T[number] {
  if (typeof v !== 'string' || !values.includes(v)) {
    fail('INVALID_CONFIG', field, `${field} must be one of ${values.join(', ')}`);
  }
  return v as T[number];
}

function parseTtl(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const secs = parseDuration(v);
  if (secs === null || secs <= 0) fail('INVALID_CONFIG', 'config.ttl', 'config.ttl must be seconds or a duration like "30m", "1h"');
  return secs;
}

function parseNonNegInt(v: unknown, field: string): number {
  const n = toNumber(v, field, 'INVALID_CONFIG');
  if (!Number.isInteger(n) || n < 0) fail('INVALID_CONFIG', field, `${field} must be a non-negative integer`);
  return n;
}

const KNOWN_CONFIG_KEYS = new Set([
  'cpus', 'memory_mb', 'disk_size_mb', 'writable_size_mb', 'ttl', 'ttl_action', 'remove_on_exit',
  'restart_policy', 'max_restarts', 'keep_logs', 'static_network', 'network_config', 'ssh_access',
  'env', 'cmd', 'workloads', 'wait_for_init', 'proxy_assignment_id',
]);
const PASSTHROUGH_KEYS = ['desktop', 'macos', 'enable_kvm', 'kernel_id', 'ready_check'];

/**
 * Parses a create-time `config` (with top-level aliases already folded in) against
 * `base` (the defaults, or the current config on update). Unknown keys are ignored.
 */
export function parseConfig(
  raw: unknown,
  base: WorkspaceConfig,
  limits: ResourceLimits,
  mode: 'permanent' | 'temporary',
): WorkspaceConfig {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail('INVALID_CONFIG', 'config', 'config must be an object');
  const c = raw as Record<string, unknown>;
  const out: WorkspaceConfig = { ...base, network_config: { ...base.network_config }, extra: { ...base.extra } };
  if (c.cpus !== undefined) out.cpus = checkRange(toNumber(c.cpus, 'config.cpus', 'INVALID_CONFIG'), limits.cpus, 'config.cpus', ' cpus');
  if (c.memory_mb !== undefined) {
    const n = toNumber(c.memory_mb, 'config.memory_mb', 'INVALID_CONFIG');
    out.memory_mb = checkRange(Math.round(n), limits.memory_mb, 'config.memory_mb', ' MB');
  }
  const disk = c.writable_size_mb ?? c.disk_size_mb;
  const diskField = c.writable_size_mb !== undefined ? 'config.writable_size_mb' : 'config.disk_size_mb';
  if (disk !== undefined) {
    const n = toNumber(disk, diskField, 'INVALID_CONFIG');
    out.disk_size_mb = checkRange(Math.round(n), limits.writable_size_mb, diskField, ' MB');
  }
  if (c.ttl !== undefined) out.ttl = parseTtl(c.ttl);
  if (out.ttl !== null && mode !== 'temporary' && c.ttl !== undefined) {
    fail('INVALID_CONFIG', 'config.ttl', 'config.ttl applies only to temporary workspaces (mode: "temporary")');
  }
  if (c.ttl_action !== undefined) out.ttl_action = parseEnum(c.ttl_action, TTL_ACTIONS, 'config.ttl_action');
  if (c.remove_on_exit !== undefined) out.remove_on_exit = toBool(c.remove_on_exit, 'config.remove_on_exit');
  if (c.restart_policy !== undefined) out.restart_policy = parseEnum(c.restart_policy, RESTART_POLICIES, 'config.restart_policy');
  if (c.max_restarts !== undefined) out.max_restarts = parseNonNegInt(c.max_restarts, 'config.max_restarts');
  if (c.keep_logs !== undefined) out.keep_logs = toBool(c.keep_logs, 'config.keep_logs');
  if (c.static_network !== undefined) out.static_network = toBool(c.static_network, 'config.static_network');
  if (c.ssh_access !== undefined) out.ssh_access = toBool(c.ssh_access, 'config.ssh_access');
  if (c.wait_for_init !== undefined) out.wait_for_init = toBool(c.wait_for_init, 'config.wait_for_init');
  if (c.network_config !== undefined) out.network_config = parseNetworkConfig(c.network_config, out.network_config);
  if (c.env !== undefined) out.env = parseEnv(c.env);
  if (c.cmd !== undefined) out.cmd = parseCmd(c.cmd);
  if (c.workloads !== undefined && c.workloads !== null) out.workloads = parseConfigWorkloads(c.workloads);
  if (c.proxy_assignment_id !== undefined && c.proxy_assignment_id !== null) {
    out.proxy_assignment_id = parseNonNegInt(c.proxy_assignment_id, 'config.proxy_assignment_id');
  }
  for (const k of PASSTHROUGH_KEYS) if (c[k] !== undefined) out.extra[k] = c[k];
  if (c.idle !== undefined) {
    const idle = parseIdle(c.idle, 'config.idle');
    if (idle) out.extra.idle = idle;
    else delete out.extra.idle;
  }
  return out;
}

function parseNetworkConfig(v: unknown, base: WorkspaceConfig['network_config']): WorkspaceConfig['network_config'] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    fail('INVALID_CONFIG', 'config.network_config', 'config.network_config must be an object');
  }
  const n = v as Record<string, unknown>;
  return {
    allow_internet: n.allow_internet === undefined ? base.allow_internet : toBool(n.allow_internet, 'config.network_config.allow_internet'),
    public_ingress: n.public_ingress === undefined ? base.public_ingress : toBool(n.public_ingress, 'config.network_config.public_ingress'),
  };
}

export function defaultConfig(limits: ResourceLimits): WorkspaceConfig {
  return {
    cpus: limits.cpus.default,
    memory_mb: limits.memory_mb.default,
    disk_size_mb: limits.writable_size_mb.default,
    ttl: null,
    ttl_action: 'stop',
    remove_on_exit: false,
    restart_policy: 'no',
    max_restarts: 0,
    keep_logs: true,
    static_network: false,
    network_config: { allow_internet: true, public_ingress: false },
    ssh_access: false,
    env: [],
    cmd: null,
    workloads: [],
    wait_for_init: false,
    proxy_assignment_id: null,
    extra: {},
  };
}

export { KNOWN_CONFIG_KEYS, SLUG, NAMESPACE, fail, toNumber };
