/**
 * The workload spec as the agent receives it (from config.json `workloads` or a
 * `PUT /_warren/workloads/:wid`). The host normalises it (src/contract/workloads.ts);
 * the agent validates it again so nothing malformed can crash or misdirect it. Fields
 * the agent does not use (labels, annotations, timestamps…) are ignored.
 */
import { AppError } from '../../contract/errors.js';
import type { VmOnExit, WorkloadRestartPolicy, WorkloadSpec as ContractSpec } from '../../contract/workloads.js';

export type RestartPolicy = WorkloadRestartPolicy;
export type { VmOnExit };
export type WorkloadState = 'pending' | 'starting' | 'running' | 'restarting' | 'stopped' | 'exited' | 'failed';

/** The fields of the host's spec the agent uses (the type is the contract's; the values are re-checked here). */
export type WorkloadSpec = Pick<ContractSpec, 'id' | 'name' | 'cmd' | 'env' | 'working_dir' | 'restart_policy'
  | 'max_restarts' | 'restart_delay_ms' | 'restart_backoff' | 'max_log_size_mb' | 'log_path' | 'vm_on_exit' | 'enabled'>;

export interface WorkloadStatus {
  id: string;
  name: string;
  status: WorkloadState;
  pid?: number;
  restarts: number;
  exit_code?: number;
  /** Short, no host paths (e.g. "command not found: foo"). */
  error?: string;
  started_at?: string;
  finished_at?: string;
  updated_at: string;
}

/**
 * Workload ids: what the host's contract accepts (letters, digits, `_`, `-`, starting
 * with a letter or digit; generated ones are `wl_` + hex). Safe as a file and cgroup name,
 * and never `_agent` (the agent's own cgroup, src/agent/workloads/cgroup.ts).
 */
export const WORKLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const RESTART_POLICIES: readonly RestartPolicy[] = ['never', 'on-failure', 'always'];
const VM_ON_EXIT: readonly VmOnExit[] = ['', 'pause', 'stop', 'exit'];
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARGS_BYTES = 256 * 1024;

function fail(field: string, message: string): never {
  throw new AppError('validation_error', message, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function int(v: unknown, field: string, min: number, max: number, def: number): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `${field} must be an integer from ${min} to ${max}`);
  return v;
}

function noNul(s: string, field: string): string {
  if (s.includes('\0')) fail(field, `${field} must not contain NUL`);
  return s;
}

function absPath(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || !v.startsWith('/') || v.length > 4096) fail(field, `${field} must be an absolute path`);
  return noNul(v, field);
}

export function validWorkloadId(id: string): boolean {
  return WORKLOAD_ID.test(id);
}

function parseCmd(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((a) => typeof a === 'string')) {
    fail('cmd', 'cmd must be a non-empty array of strings');
  }
  const cmd = (v as string[]).map((a, i) => noNul(a, `cmd[${i}]`));
  if (cmd[0] === '') fail('cmd[0]', 'cmd[0] must name a program');
  if (cmd.reduce((n, a) => n + Buffer.byteLength(a), 0) > MAX_ARGS_BYTES) fail('cmd', 'cmd is too long');
  return cmd;
}

function parseEnv(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) fail('env', 'env must be an object of strings');
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!ENV_KEY.test(k)) fail(`env.${k}`, 'env keys must be valid variable names');
    if (typeof val !== 'string') fail(`env.${k}`, 'env values must be strings');
    env[k] = noNul(val, `env.${k}`);
  }
  return env;
}

function oneOf<T extends string>(v: unknown, values: readonly T[], field: string, def: T): T {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || !values.includes(v as T)) fail(field, `${field} must be one of: ${values.join(', ')}`);
  return v as T;
}

/**
 * A defensive parse of a normalised spec; `pathId` (from the URL) must match `id` when
 * both are given. Throws `validation_error` with `details.field`.
 */
export function parseWorkloadSpec(raw: unknown, pathId?: string): WorkloadSpec {
  if (!isObject(raw)) fail('body', 'The workload spec must be a JSON object');
  const id = raw.id ?? pathId;
  if (typeof id !== 'string' || !validWorkloadId(id)) fail('id', 'id must be 1-64 letters, digits, "_" or "-"');
  if (pathId !== undefined && id !== pathId) fail('id', 'id does not match the path');
  const name = raw.name === undefined || raw.name === null ? id : raw.name;
  if (typeof name !== 'string' || name.length > 256) fail('name', 'name must be a string of at most 256 characters');
  const spec: WorkloadSpec = {
    id,
    name: noNul(name, 'name'),
    cmd: parseCmd(raw.cmd),
    env: parseEnv(raw.env),
    restart_policy: oneOf(raw.restart_policy, RESTART_POLICIES, 'restart_policy', 'never'),
    max_restarts: int(raw.max_restarts, 'max_restarts', 0, 1_000_000, 0),
    restart_delay_ms: int(raw.restart_delay_ms, 'restart_delay_ms', 0, 24 * 3600 * 1000, 1000),
    restart_backoff: raw.restart_backoff === true,
    max_log_size_mb: int(raw.max_log_size_mb, 'max_log_size_mb', 1, 1024, 10),
    vm_on_exit: oneOf(raw.vm_on_exit, VM_ON_EXIT, 'vm_on_exit', ''),
    enabled: raw.enabled !== false,
  };
  const wd = absPath(raw.working_dir, 'working_dir');
  if (wd) spec.working_dir = wd;
  const lp = absPath(raw.log_path, 'log_path');
  if (lp) spec.log_path = lp;
  return spec;
}

/** Whether moving from `a` to `b` needs a new process (what the process is made of changed). */
export function needsRestart(a: WorkloadSpec, b: WorkloadSpec): boolean {
  return JSON.stringify(a.cmd) !== JSON.stringify(b.cmd)
    || JSON.stringify(sorted(a.env)) !== JSON.stringify(sorted(b.env))
    || (a.working_dir ?? '') !== (b.working_dir ?? '');
}

function sorted(env: Record<string, string>): Array<[string, string]> {
  return Object.entries(env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
