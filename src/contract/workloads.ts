/**
 * Workloads (control-plane.md §11): the SDK's `WorkloadCreateParams`, the CLI's shape
 * (`command` string, `env` object) and update bodies, parsed into one normalised
 * `WorkloadSpec` — the form stored in the workspace's `config.workloads` and handed to
 * the agent. Numbers and booleans may arrive as strings (the CLI sends every `--k v` as
 * one). Every refusal names its field.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseWith } from './zod-parse.js';

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

/** A string without NUL of at most `max` bytes (UTF-8). */
const text = (max = 4096) => z.string()
  .refine((v) => !v.includes('\0'), 'must not contain NUL')
  .refine((v) => Buffer.byteLength(v) <= max, `is longer than ${max} bytes`);

/** A number, or a numeric string (the CLI sends every flag as one), in [min, max]. */
function numeric(min: number, max: number, integer = true) {
  const rule = `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  const n = z.number({ error: rule }).min(min, rule).max(max, rule);
  return z.union([z.number(), z.string().refine((v) => v.trim() !== '')], { error: rule })
    .transform((v) => (typeof v === 'string' ? Number(v) : v))
    .pipe(integer ? n.int(rule) : n);
}

const flag = z.union([z.boolean(), z.enum(['true', '1', 'false', '0'])], { error: 'must be true or false' })
  .transform((v) => v === true || v === 'true' || v === '1');
const absPath = text().refine((v) => v.startsWith('/'), 'must be an absolute path');
/** An optional string where `''` means "not given". */
const orEmpty = <S extends z.ZodType>(s: S) => z.union([z.literal(''), s]);

/** `{ key: value }` of at most MAX_MAP_ENTRIES printable keys (1–128) and strings of at most 1 KiB. */
const stringMap = z.record(z.string(), text(1024), { error: 'must be an object of strings' }).superRefine((m, ctx) => {
  const keys = Object.keys(m);
  if (keys.length > MAX_MAP_ENTRIES) ctx.addIssue({ code: 'custom', message: `has more than ${MAX_MAP_ENTRIES} entries` });
  for (const k of keys) {
    if (!PRINTABLE.test(k) || k.length > 128) ctx.addIssue({ code: 'custom', message: 'keys must be 1-128 printable characters', path: [k] });
  }
});

/** A command as a string, run by /bin/sh. */
const shellCommand = text(MAX_ARG_BYTES).refine((v) => v.trim() !== '', 'must not be empty')
  .transform((v) => ['/bin/sh', '-c', v]);
/** A command as argv: non-empty, argv[0] names a program, at most MAX_ARG_BYTES in all. */
const argvCommand = z.array(text(MAX_ARG_BYTES), { error: 'must be a non-empty array of strings' })
  .min(1, 'must be a non-empty array of strings')
  .refine((v) => v[0] !== '', { message: 'must name a program', path: [0] })
  .refine((v) => v.reduce((n, a) => n + Buffer.byteLength(a), 0) <= MAX_ARG_BYTES, `is longer than ${MAX_ARG_BYTES} bytes`);

const envEntry = text().refine((v) => v.indexOf('=') > 0, 'must look like KEY=VALUE');
/** `["K=V", …]` (SDK). */
const envList = z.array(envEntry).max(256, 'has more than 256 variables')
  .transform((v) => Object.fromEntries(v.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])));
/** `{ K: V }` (CLI); numbers and booleans become strings. */
const envMap = z.record(z.string(), z.union([text(MAX_ARG_BYTES), z.number().transform(String), z.boolean().transform(String)]))
  .refine((m) => Object.keys(m).length <= 256, 'has more than 256 variables');
const envNames = (env: Record<string, string>, ctx: z.RefinementCtx) => {
  for (const k of Object.keys(env)) {
    if (!ENV_KEY.test(k)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(k)} is not a valid environment variable name`, path: [k] });
  }
};

/**
 * Runs the schema of the value's shape (string, array or object) so that a refusal names the
 * entry that failed (`env[2]`, `cmd[0]`), which a union would not; `path` is where the value sits.
 */
function byShape<T>(v: unknown, ctx: z.RefinementCtx, forms: { string?: z.ZodType<T>; array?: z.ZodType<T>; object?: z.ZodType<T> },
  path: PropertyKey[], message: string): T {
  const form = typeof v === 'string' ? forms.string : Array.isArray(v) ? forms.array
    : v && typeof v === 'object' ? forms.object : undefined;
  const r = form ? form.safeParse(v) : undefined;
  if (r?.success) return r.data;
  for (const issue of r?.error.issues ?? [{ message, path: [] }]) ctx.addIssue({ code: 'custom', message: issue.message, path: [...path, ...issue.path] });
  return z.NEVER;
}

const docOf = (s: z.ZodType) => {
  const { $schema: _drop, ...doc } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  return doc;
};
const commandDoc = docOf(z.union([shellCommand, argvCommand]));
const ENV_RULE = 'must be an array of "KEY=VALUE" or an object';
const env = z.unknown()
  .transform((v, ctx) => byShape(v, ctx, { array: envList.superRefine(envNames), object: envMap.superRefine(envNames) }, [], ENV_RULE))
  .meta(docOf(z.union([z.array(envEntry), envMap])));

/**
 * The fields of create and update bodies, in the order they were judged. `cmd` (array, or a
 * string run by /bin/sh) or the CLI's `command` are resolved by `resolveCommand`.
 */
const mutableFields = {
  name: text(128).transform((v) => v.trim()).refine((v) => v !== '' && PRINTABLE.test(v), 'must be 1-128 printable characters').nullish(),
  cmd: z.unknown().meta(commandDoc).optional(),
  command: z.unknown().meta({ ...commandDoc, description: 'The CLI\'s name for cmd' }).optional(),
  env: env.nullish(),
  working_dir: orEmpty(absPath).optional(),
  user: z.unknown().refine((u) => u === '' || u === 'root' || u === '0', {
    message: 'Workloads run as root in the workspace; another user is not supported', params: { code: 'not_implemented' },
  }).optional().describe('root only (another user: not_implemented)'),
  restart_policy: z.enum(WORKLOAD_RESTART_POLICIES).optional(),
  max_restarts: numeric(0, 10_000).optional(),
  restart_delay: numeric(0, 3600, false).optional().describe('Seconds'),
  restart_backoff: flag.optional(),
  max_log_size_mb: numeric(1, 1024).optional(),
  log_path: orEmpty(absPath).optional(),
  vm_on_exit: z.enum(VM_ON_EXIT).nullish(),
  enabled: flag.optional(),
  labels: stringMap.nullish(),
  annotations: stringMap.nullish(),
  target: orEmpty(text(128)).nullish(),
};

/** `cmd` wins over `command`; a `cmd: null` still names `cmd` (as it always did). */
function resolveCommand(b: { cmd?: unknown; command?: unknown }, ctx: z.RefinementCtx): string[] | undefined {
  const raw = b.cmd ?? b.command;
  if (raw === undefined || raw === null) return undefined;
  const field = b.cmd !== undefined ? 'cmd' : 'command';
  return byShape(raw, ctx, { string: shellCommand, array: argvCommand }, [field], 'must be a non-empty array of strings');
}

/** POST /workspace/:id/workloads (and each entry of `config.workloads`). */
export const workloadCreateSchema = z.looseObject({
  ...mutableFields,
  id: orEmpty(text(64).regex(ID, 'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit')).nullish()
    .describe('Generated when absent'),
  image: text(512).optional().describe('Stored and shown'),
  port: numeric(1, 65535).nullish().describe('Stored and shown'),
}).transform((b, ctx) => {
  const cmd = resolveCommand(b, ctx);
  if (!cmd) ctx.addIssue({ code: 'custom', message: 'cmd is required: the command to run, as an array of strings', path: ['cmd'] });
  return { ...b, cmd: cmd ?? [] };
});

/** PUT|PATCH /workspace/:id/workloads/:wid: both merge the given fields; the id cannot change. */
export const workloadUpdateSchema = z.looseObject({
  id: z.never({ error: 'A workload id cannot be changed' }).optional(),
  ...mutableFields,
}).transform((b, ctx) => ({ ...b, cmd: resolveCommand(b, ctx) }));

type Parsed = Omit<z.output<typeof workloadUpdateSchema>, 'id'>;

/** The fields of the mutable set that were given, as WorkloadSpec fields. */
function mutable(b: Parsed): Partial<WorkloadSpec> {
  const out: Partial<WorkloadSpec> = {};
  if (b.name != null) out.name = b.name;
  if (b.cmd) out.cmd = b.cmd;
  if (b.env != null) out.env = b.env;
  if (b.working_dir) out.working_dir = b.working_dir;
  if (b.restart_policy !== undefined) out.restart_policy = b.restart_policy;
  if (b.max_restarts !== undefined) out.max_restarts = b.max_restarts;
  if (b.restart_delay !== undefined) out.restart_delay_ms = Math.round(b.restart_delay * 1000);
  if (b.restart_backoff !== undefined) out.restart_backoff = b.restart_backoff;
  if (b.max_log_size_mb !== undefined) out.max_log_size_mb = b.max_log_size_mb;
  if (b.log_path) out.log_path = b.log_path;
  if (b.vm_on_exit != null) out.vm_on_exit = b.vm_on_exit;
  if (b.enabled !== undefined) out.enabled = b.enabled;
  if (b.labels != null) out.labels = b.labels;
  if (b.annotations != null) out.annotations = b.annotations;
  if (b.target) out.target = b.target;
  return out;
}

/** A missing body is an empty one; a refusal inside `config.workloads[i]` names it with `prefix`. */
function parseAt<S extends z.ZodType>(schema: S, body: unknown, prefix: string): z.output<S> {
  if (body === undefined || body === null) body = {};
  if (typeof body !== 'object' || Array.isArray(body)) fail(prefix.replace(/\.$/, '') || 'body', 'The body must be a JSON object');
  try {
    return parseWith(schema, body);
  } catch (e) {
    if (prefix && e instanceof AppError && typeof e.details?.field === 'string') {
      throw new AppError(e.code, `${prefix}${e.details.field}: ${e.message}`, { ...e.details, field: `${prefix}${e.details.field}` });
    }
    throw e;
  }
}

export function newWorkloadId(): string {
  return `wl_${randomBytes(8).toString('hex')}`;
}

/** A create body (or one entry of `config.workloads`, with `prefix` like `config.workloads[0].`). */
export function parseWorkloadCreate(body: unknown, prefix = '', now = new Date().toISOString()): WorkloadSpec {
  const b = parseAt(workloadCreateSchema, body, prefix);
  const m = mutable(b);
  const extra: Record<string, unknown> = {};
  if (b.image !== undefined) extra.image = b.image;
  if (b.port != null) extra.port = b.port;
  return {
    ...WORKLOAD_DEFAULTS,
    env: {},
    labels: {},
    annotations: {},
    ...m,
    cmd: b.cmd,
    id: b.id || newWorkloadId(),
    name: m.name ?? defaultName(b.cmd),
    extra,
    created_at: now,
    updated_at: now,
  };
}

/** A workload's name when none is given: its program's base name (the first word of an `sh -c` script), printable, ≤ 128. */
export function defaultName(cmd: string[]): string {
  const prog = cmd[0] === '/bin/sh' && cmd[1] === '-c' ? (cmd[2] ?? 'sh').trim().split(/\s+/)[0]! : cmd[0]!;
  return (prog.split('/').pop() || 'workload').replace(/[^\x20-\x7e]/g, '').slice(0, 128) || 'workload';
}

/** An update (PUT or PATCH: both merge the given fields). */
export function parseWorkloadUpdate(body: unknown): Partial<WorkloadSpec> {
  return mutable(parseAt(workloadUpdateSchema, body, ''));
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

/** GET /workspace/:id/workloads query: `states` (comma-separated), `name`, `limit` (1–1000); empty is absent. */
export const workloadListQuerySchema = z.object({
  states: z.string().optional().describe('Comma-separated states'),
  name: text(128).optional().describe('Exact name'),
  limit: orEmpty(numeric(1, 1000)).optional().describe('At most this many, 1–1000'),
});

export function parseWorkloadList(q: Record<string, string | undefined>): WorkloadListQuery {
  const b = parseWith(workloadListQuerySchema, q);
  const states = b.states ? b.states.split(',').map((s) => s.trim()).filter(Boolean) : null;
  return {
    states: states && states.length ? states : null,
    name: b.name || null,
    limit: b.limit === undefined || b.limit === '' ? null : b.limit,
  };
}

const TAIL_ALIASES = ['tail_lines', 'tail', 'lines'] as const;
const TAIL_RULE = (field: string) => `${field} must be an integer from 1 to 10000`;
const tailLines = numeric(1, 10_000);

/** The alias given first (`tail_lines`, then `tail`, then `lines`) and its text; null: absent, `''` or `'undefined'` (the SDK's unset value). */
function givenTail(q: Partial<Record<(typeof TAIL_ALIASES)[number], string>>): { field: string; raw: string } | null {
  const field = TAIL_ALIASES.find((k) => q[k] !== undefined);
  const raw = field === undefined ? undefined : q[field];
  return field === undefined || raw === undefined || raw === '' || raw === 'undefined' ? null : { field, raw };
}

const tailAlias = z.string().optional().describe('Lines, 1–10000 (of tail_lines, tail and lines the first given counts)');
/**
 * The tail query of the log routes: `tail_lines`, `tail` or `lines` (aliases), 1–10000. Only the
 * first one given counts, and a refusal names it; the later aliases are not judged.
 */
export const tailQuerySchema = z.object({ tail_lines: tailAlias, tail: tailAlias, lines: tailAlias })
  .superRefine((q, ctx) => {
    const given = givenTail(q);
    if (given && !tailLines.safeParse(given.raw).success) ctx.addIssue({ code: 'custom', message: TAIL_RULE(given.field), path: [given.field] });
  });

/** `tail_lines` / `tail` / `lines` of a log request: 1…10000, default `def`. */
export function parseTail(q: Record<string, string | undefined>, def: number): number {
  const given = givenTail(parseWith(tailQuerySchema, q));
  return given ? tailLines.parse(given.raw) : def;
}
