/**
 * Workloads (control-plane.md §11): the SDK's `WorkloadCreateParams`, the CLI's shape
 * (`command` string, `env` object) and update bodies, parsed into one normalised
 * `WorkloadSpec` — the form stored in the workspace's `config.workloads` and handed to
 * the agent. Numbers and booleans may arrive as strings (the CLI sends every `--k v` as
 * one). Every refusal names its field.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from './errors.js';

export const WORKLOAD_RESTART_POLICIES = ['never', 'on-failure', 'always'] as const;
export const VM_ON_EXIT = ['', 'pause', 'stop', 'exit'] as const;
export type WorkloadRestartPolicy = (typeof WORKLOAD_RESTART_POLICIES)[number];
export type VmOnExit = (typeof VM_ON_EXIT)[number];

/** At most this many workloads per workspace. */
export const MAX_WORKLOADS = 64;
const MAX_ARG_BYTES = 64 * 1024;
const MAX_MAP_ENTRIES = 64;
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRINTABLE = /^[\x20-\x7e]+$/;

export interface WorkloadSpec {
  id: string;
  name: string;
  cmd: string[];
  env: Record<string, string>;
  working_dir?: string;
  restart_policy: WorkloadRestartPolicy;
  /** 0 = no limit. */
  max_restarts: number;
  restart_delay_ms: number;
  restart_backoff: boolean;
  max_log_size_mb: number;
  log_path?: string;
  vm_on_exit: VmOnExit;
  enabled: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Stored and shown; one runtime per workspace here. */
  target?: string;
  /** What the CLI sends besides the command (`image`, `port`); stored and shown. */
  extra: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** Defaults (docs/SPECIFICATION.md, Workloads): supervised unless told otherwise. */
export const WORKLOAD_DEFAULTS = {
  restart_policy: 'on-failure' as WorkloadRestartPolicy,
  max_restarts: 10,
  restart_delay_ms: 1000,
  restart_backoff: true,
  max_log_size_mb: 10,
  vm_on_exit: '' as VmOnExit,
  enabled: true,
};

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function str(v: unknown, field: string, max = 4096): string {
  if (typeof v !== 'string') fail(field, `${field} must be a string`);
  if (v.includes('\0')) fail(field, `${field} must not contain NUL`);
  if (Buffer.byteLength(v) > max) fail(field, `${field} is longer than ${max} bytes`);
  return v;
}

function num(v: unknown, field: string, min: number, max: number, integer = true): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    fail(field, `${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  fail(field, `${field} must be true or false`);
}

function oneOf<T extends readonly string[]>(v: unknown, values: T, field: string): T[number] {
  if (typeof v !== 'string' || !values.includes(v)) fail(field, `${field} must be one of: ${values.filter(Boolean).join(', ')}`);
  return v as T[number];
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) fail(field, `${field} must be an object of strings`);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_MAP_ENTRIES) fail(field, `${field} has more than ${MAX_MAP_ENTRIES} entries`);
  const out: Record<string, string> = {};
  for (const [k, val] of entries) {
    if (!PRINTABLE.test(k) || k.length > 128) fail(`${field}.${k}`, `${field} keys must be 1-128 printable characters`);
    out[k] = str(val, `${field}.${k}`, 1024);
  }
  return out;
}

function parseCmdArray(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length === 0) fail(field, `${field} must be a non-empty array of strings`);
  const cmd = v.map((a, i) => str(a, `${field}[${i}]`, MAX_ARG_BYTES));
  if (cmd[0] === '') fail(`${field}[0]`, `${field}[0] must name a program`);
  if (cmd.reduce((n, a) => n + Buffer.byteLength(a), 0) > MAX_ARG_BYTES) fail(field, `${field} is longer than ${MAX_ARG_BYTES} bytes`);
  return cmd;
}

/** `cmd` (array, or a string run by /bin/sh) or the CLI's `command` string. */
function parseCommand(b: Record<string, unknown>, prefix: string): string[] | undefined {
  const raw = b.cmd ?? b.command;
  const field = `${prefix}${b.cmd !== undefined ? 'cmd' : 'command'}`;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') {
    if (raw.trim() === '') fail(field, `${field} must not be empty`);
    return ['/bin/sh', '-c', str(raw, field, MAX_ARG_BYTES)];
  }
  return parseCmdArray(raw, field);
}

/** `["K=V", …]` (SDK) or `{ K: V }` (CLI). */
function parseEnv(v: unknown, field: string): Record<string, string> {
  const pairs: Array<[string, unknown]> = Array.isArray(v)
    ? v.map((e, i) => {
      const s = str(e, `${field}[${i}]`);
      const at = s.indexOf('=');
      if (at <= 0) fail(`${field}[${i}]`, `${field}[${i}] must look like KEY=VALUE`);
      return [s.slice(0, at), s.slice(at + 1)];
    })
    : v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>) : fail(field, `${field} must be an array of "KEY=VALUE" or an object`);
  if (pairs.length > 256) fail(field, `${field} has more than 256 variables`);
  const env: Record<string, string> = {};
  for (const [k, val] of pairs) {
    if (!ENV_KEY.test(k)) fail(`${field}.${k}`, `${JSON.stringify(k)} is not a valid environment variable name`);
    env[k] = str(typeof val === 'number' || typeof val === 'boolean' ? String(val) : val, `${field}.${k}`, MAX_ARG_BYTES);
  }
  return env;
}

function absPath(v: unknown, field: string): string {
  const p = str(v, field);
  if (!p.startsWith('/')) fail(field, `${field} must be an absolute path`);
  return p;
}

/** Fields common to create and update; only those present in `b` are returned. */
function parseMutable(b: Record<string, unknown>, prefix: string): Partial<WorkloadSpec> {
  const f = (k: string) => `${prefix}${k}`;
  const out: Partial<WorkloadSpec> = {};
  if (b.name !== undefined && b.name !== null) {
    const name = str(b.name, f('name'), 128).trim();
    if (!name || !PRINTABLE.test(name)) fail(f('name'), `${f('name')} must be 1-128 printable characters`);
    out.name = name;
  }
  const cmd = parseCommand(b, prefix);
  if (cmd) out.cmd = cmd;
  if (b.env !== undefined && b.env !== null) out.env = parseEnv(b.env, f('env'));
  if (b.working_dir !== undefined && b.working_dir !== '') out.working_dir = absPath(b.working_dir, f('working_dir'));
  if (b.user !== undefined && b.user !== '' && b.user !== 'root' && b.user !== '0') {
    throw new AppError('not_implemented', 'Workloads run as root in the workspace; another user is not supported', { field: f('user') });
  }
  if (b.restart_policy !== undefined) out.restart_policy = oneOf(b.restart_policy, WORKLOAD_RESTART_POLICIES, f('restart_policy'));
  if (b.max_restarts !== undefined) out.max_restarts = num(b.max_restarts, f('max_restarts'), 0, 10_000);
  if (b.restart_delay !== undefined) out.restart_delay_ms = Math.round(num(b.restart_delay, f('restart_delay'), 0, 3600, false) * 1000);
  if (b.restart_backoff !== undefined) out.restart_backoff = bool(b.restart_backoff, f('restart_backoff'));
  if (b.max_log_size_mb !== undefined) out.max_log_size_mb = num(b.max_log_size_mb, f('max_log_size_mb'), 1, 1024);
  if (b.log_path !== undefined && b.log_path !== '') out.log_path = absPath(b.log_path, f('log_path'));
  if (b.vm_on_exit !== undefined && b.vm_on_exit !== null) out.vm_on_exit = oneOf(b.vm_on_exit, VM_ON_EXIT, f('vm_on_exit'));
  if (b.enabled !== undefined) out.enabled = bool(b.enabled, f('enabled'));
  if (b.labels !== undefined && b.labels !== null) out.labels = stringMap(b.labels, f('labels'));
  if (b.annotations !== undefined && b.annotations !== null) out.annotations = stringMap(b.annotations, f('annotations'));
  if (b.target !== undefined && b.target !== null && b.target !== '') out.target = str(b.target, f('target'), 128);
  return out;
}

function asObject(body: unknown, field: string): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) fail(field || 'body', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

export function newWorkloadId(): string {
  return `wl_${randomBytes(8).toString('hex')}`;
}

/** A create body (or one entry of `config.workloads`, with `prefix` like `config.workloads[0].`). */
export function parseWorkloadCreate(body: unknown, prefix = '', now = new Date().toISOString()): WorkloadSpec {
  const b = asObject(body, prefix.replace(/\.$/, ''));
  const m = parseMutable(b, prefix);
  if (!m.cmd) fail(`${prefix}cmd`, `${prefix}cmd is required: the command to run, as an array of strings`);
  let id = newWorkloadId();
  if (b.id !== undefined && b.id !== null && b.id !== '') {
    id = str(b.id, `${prefix}id`, 64);
    if (!ID.test(id)) fail(`${prefix}id`, `${prefix}id must be 1-64 letters, digits, "_" or "-", starting with a letter or digit`);
  }
  const extra: Record<string, unknown> = {};
  if (b.image !== undefined) extra.image = str(b.image, `${prefix}image`, 512);
  if (b.port !== undefined && b.port !== null) extra.port = num(b.port, `${prefix}port`, 1, 65535);
  return {
    ...WORKLOAD_DEFAULTS,
    env: {},
    labels: {},
    annotations: {},
    ...m,
    cmd: m.cmd,
    id,
    name: m.name ?? defaultName(m.cmd),
    extra,
    created_at: now,
    updated_at: now,
  };
}

function defaultName(cmd: string[]): string {
  const prog = cmd[0] === '/bin/sh' && cmd[1] === '-c' ? (cmd[2] ?? 'sh').trim().split(/\s+/)[0]! : cmd[0]!;
  return (prog.split('/').pop() || 'workload').replace(/[^\x20-\x7e]/g, '').slice(0, 128) || 'workload';
}

/** An update (PUT or PATCH: both merge the given fields). */
export function parseWorkloadUpdate(body: unknown): Partial<WorkloadSpec> {
  const b = asObject(body, 'body');
  if ('id' in b && b.id !== undefined) fail('id', 'A workload id cannot be changed');
  return parseMutable(b, '');
}

/** `config.workloads` at create: each entry parsed as a create body; ids unique. */
export function parseConfigWorkloads(v: unknown): WorkloadSpec[] {
  if (!Array.isArray(v)) fail('config.workloads', 'config.workloads must be an array');
  if (v.length > MAX_WORKLOADS) fail('config.workloads', `config.workloads has more than ${MAX_WORKLOADS} entries`);
  const specs = v.map((w, i) => parseWorkloadCreate(w, `config.workloads[${i}].`));
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (seen.has(s.id)) fail(`config.workloads[${i}].id`, `Workload id ${s.id} appears twice`);
    seen.add(s.id);
  });
  return specs;
}

export interface WorkloadListQuery {
  states: string[] | null;
  name: string | null;
  limit: number | null;
}

export function parseWorkloadList(q: Record<string, string | undefined>): WorkloadListQuery {
  const states = q.states ? q.states.split(',').map((s) => s.trim()).filter(Boolean) : null;
  return {
    states: states && states.length ? states : null,
    name: q.name ? str(q.name, 'name', 128) : null,
    limit: q.limit !== undefined && q.limit !== '' ? num(q.limit, 'limit', 1, 1000) : null,
  };
}

/** `tail_lines` / `tail` / `lines` of a log request: 1…10000, default `def`. */
export function parseTail(q: Record<string, string | undefined>, def: number): number {
  const raw = q.tail_lines ?? q.tail ?? q.lines;
  if (raw === undefined || raw === '' || raw === 'undefined') return def;
  return num(raw, q.tail_lines !== undefined ? 'tail_lines' : q.tail !== undefined ? 'tail' : 'lines', 1, 10_000);
}
