/**
 * The workload bodies are parsed by their zod schemas (workloadCreateSchema,
 * workloadUpdateSchema). Equivalence: the hand-written parser they replaced is kept below as
 * `legacy…`; over a corpus of valid and invalid bodies both give the same spec, or refuse with
 * the same code and `details.field` (clients match on those). Generated ids are compared by form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AppError } from './errors.js';
import { outcome as outcomeOf, type Outcome } from '../../test/support/parser-equivalence.js';
import {
  MAX_WORKLOADS, VM_ON_EXIT, parseWorkloadList, WORKLOAD_DEFAULTS, WORKLOAD_RESTART_POLICIES, parseConfigWorkloads, parseWorkloadCreate,
  parseWorkloadUpdate, defaultName, type WorkloadSpec,
} from './workloads.js';

// ---- the hand-written parser as it was (legacy, for the equivalence test only) ----
const MAX_ARG_BYTES = 64 * 1024;
const MAX_MAP_ENTRIES = 64;
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRINTABLE = /^[\x20-\x7e]+$/;

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

function legacyNewWorkloadId(): string {
  return `wl_${randomBytes(8).toString('hex')}`;
}

/** A create body (or one entry of `config.workloads`, with `prefix` like `config.workloads[0].`). */
function legacyParseWorkloadCreate(body: unknown, prefix = '', now = new Date().toISOString()): WorkloadSpec {
  const b = asObject(body, prefix.replace(/\.$/, ''));
  const m = parseMutable(b, prefix);
  if (!m.cmd) fail(`${prefix}cmd`, `${prefix}cmd is required: the command to run, as an array of strings`);
  let id = legacyNewWorkloadId();
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


/** An update (PUT or PATCH: both merge the given fields). */
function legacyParseWorkloadUpdate(body: unknown): Partial<WorkloadSpec> {
  const b = asObject(body, 'body');
  if ('id' in b && b.id !== undefined) fail('id', 'A workload id cannot be changed');
  return parseMutable(b, '');
}

/** `config.workloads` at create: each entry parsed as a create body; ids unique. */
function legacyParseConfigWorkloads(v: unknown): WorkloadSpec[] {
  if (!Array.isArray(v)) fail('config.workloads', 'config.workloads must be an array');
  if (v.length > MAX_WORKLOADS) fail('config.workloads', `config.workloads has more than ${MAX_WORKLOADS} entries`);
  const specs = v.map((w, i) => legacyParseWorkloadCreate(w, `config.workloads[${i}].`));
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    if (seen.has(s.id)) fail(`config.workloads[${i}].id`, `Workload id ${s.id} appears twice`);
    seen.add(s.id);
  });
  return specs;
}

function legacyParseWorkloadList(q: Record<string, string | undefined>) {
  const states = q.states ? q.states.split(',').map((s) => s.trim()).filter(Boolean) : null;
  return {
    states: states && states.length ? states : null,
    name: q.name ? str(q.name, 'name', 128) : null,
    limit: q.limit !== undefined && q.limit !== '' ? num(q.limit, 'limit', 1, 1000) : null,
  };
}
// ---- end of legacy ----

const NOW = '2026-01-01T00:00:00.000Z';

/** Generated ids differ run to run: keep their form, drop their value. */
function normalise(v: unknown): unknown {
  const one = (s: WorkloadSpec) => (/^wl_[0-9a-f]{16}$/.test(s.id) ? { ...s, id: 'wl_generated' } : s);
  return Array.isArray(v) ? v.map(one) : v && typeof v === 'object' && 'id' in v ? one(v as WorkloadSpec) : v;
}

/** A parser's outcome with generated ids normalised. */
const outcome = (fn: () => unknown): Outcome => outcomeOf(fn, normalise);

const long = (n: number) => 'x'.repeat(n);
const manyEnv = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`K${i}`, 'v']));

const COMMON: unknown[] = [
  {}, null, undefined, 'x', [], 5,
  { cmd: ['node', 'server.js'] },
  { cmd: 'npm start  ' },
  { cmd: '   ' },
  { cmd: '' },
  { cmd: [] },
  { cmd: [''] },
  { cmd: ['', 'x'] },
  { cmd: ['ok', 5] },
  { cmd: ['ok', 'a\0b'] },
  { cmd: 5 },
  { cmd: {} },
  { cmd: [long(40_000), long(30_000)] },
  { cmd: long(70_000) },
  { cmd: null, command: 'ls -la' },
  { cmd: null, command: 5 },
  { command: 'echo hi' },
  { command: ['a', 7] },
  { command: '' },
  { cmd: ['a'], command: 5 },
  { cmd: ['a'], name: '  web  ' },
  { cmd: ['a'], name: '   ' },
  { cmd: ['a'], name: 'tab\there' },
  { cmd: ['a'], name: long(129) },
  { cmd: ['a'], name: 7 },
  { cmd: ['a'], name: null },
  { cmd: ['a'], env: ['A=1', 'B=x=y', 'A=2'] },
  { cmd: ['a'], env: ['=1'] },
  { cmd: ['a'], env: ['A'] },
  { cmd: ['a'], env: ['A=1', 5] },
  { cmd: ['a'], env: ['1A=1'] },
  { cmd: ['a'], env: { A: '1', B: 2, C: true, D: false } },
  { cmd: ['a'], env: { 'bad-key': '1' } },
  { cmd: ['a'], env: { A: null } },
  { cmd: ['a'], env: { A: { x: 1 } } },
  { cmd: ['a'], env: { A: 'a\0b' } },
  { cmd: ['a'], env: 'A=1' },
  { cmd: ['a'], env: 0 },
  { cmd: ['a'], env: null },
  { cmd: ['a'], env: manyEnv(257) },
  { cmd: ['a'], env: Object.keys(manyEnv(257)).map((k) => `${k}=1`) },
  { cmd: ['a'], working_dir: '/srv' },
  { cmd: ['a'], working_dir: '' },
  { cmd: ['a'], working_dir: 'srv' },
  { cmd: ['a'], working_dir: null },
  { cmd: ['a'], user: 'root' }, { cmd: ['a'], user: '0' }, { cmd: ['a'], user: '' }, { cmd: ['a'], user: 'app' },
  { cmd: ['a'], user: null }, { cmd: ['a'], user: 0 },
  ...WORKLOAD_RESTART_POLICIES.map((p) => ({ cmd: ['a'], restart_policy: p })),
  { cmd: ['a'], restart_policy: 'sometimes' }, { cmd: ['a'], restart_policy: null },
  { cmd: ['a'], max_restarts: '5' }, { cmd: ['a'], max_restarts: ' 7 ' }, { cmd: ['a'], max_restarts: '0x10' },
  { cmd: ['a'], max_restarts: -1 }, { cmd: ['a'], max_restarts: 10_001 }, { cmd: ['a'], max_restarts: 1.5 },
  { cmd: ['a'], max_restarts: '' }, { cmd: ['a'], max_restarts: 'abc' }, { cmd: ['a'], max_restarts: null },
  { cmd: ['a'], restart_delay: 1.25 }, { cmd: ['a'], restart_delay: '2.5' }, { cmd: ['a'], restart_delay: 3601 },
  { cmd: ['a'], restart_backoff: 'false' }, { cmd: ['a'], restart_backoff: '1' }, { cmd: ['a'], restart_backoff: 'yes' },
  { cmd: ['a'], max_log_size_mb: 0 }, { cmd: ['a'], max_log_size_mb: '1024' },
  { cmd: ['a'], log_path: '/var/log/x' }, { cmd: ['a'], log_path: '' }, { cmd: ['a'], log_path: 'x' }, { cmd: ['a'], log_path: null },
  ...VM_ON_EXIT.map((v) => ({ cmd: ['a'], vm_on_exit: v })),
  { cmd: ['a'], vm_on_exit: 'halt' }, { cmd: ['a'], vm_on_exit: null },
  { cmd: ['a'], enabled: false }, { cmd: ['a'], enabled: '0' }, { cmd: ['a'], enabled: null },
  { cmd: ['a'], labels: { app: 'web', '': 'x' } },
  { cmd: ['a'], labels: { app: 'web', tier: 'front' }, annotations: { note: 'n' } },
  { cmd: ['a'], labels: { [long(129)]: 'x' } },
  { cmd: ['a'], labels: { a: 5 } },
  { cmd: ['a'], labels: { a: long(1025) } },
  { cmd: ['a'], labels: [] },
  { cmd: ['a'], labels: 'x' },
  { cmd: ['a'], annotations: manyEnv(65) },
  { cmd: ['a'], annotations: { 'tab\t': 'x' } },
  { cmd: ['a'], target: 'vm' }, { cmd: ['a'], target: '' }, { cmd: ['a'], target: long(129) }, { cmd: ['a'], target: 3 },
  { cmd: ['a'], other: 'ignored', image: 'node:20', port: '8080' },
  { name: 'only a name' },
];

const CREATE_ONLY: unknown[] = [
  { cmd: ['a'], id: 'web-1' }, { cmd: ['a'], id: '' }, { cmd: ['a'], id: null }, { cmd: ['a'], id: '-x' },
  { cmd: ['a'], id: long(65) }, { cmd: ['a'], id: 5 },
  { cmd: ['a'], image: 5 }, { cmd: ['a'], image: null }, { cmd: ['a'], image: long(513) },
  { cmd: ['a'], port: 0 }, { cmd: ['a'], port: null }, { cmd: ['a'], port: '65536' },
  { cmd: ['/usr/bin/python3', '-m', 'http.server'] }, { cmd: 'FOO=1 ./run.sh --x' },
];

test('POST /workspace/:id/workloads: the zod schema parses as the hand-written parser did', () => {
  for (const body of [...COMMON, ...CREATE_ONLY]) {
    assert.deepEqual(outcome(() => parseWorkloadCreate(body, '', NOW)), outcome(() => legacyParseWorkloadCreate(body, '', NOW)),
      JSON.stringify(body)?.slice(0, 200));
  }
});

test('PUT|PATCH /workspace/:id/workloads/:wid: the zod schema parses as the hand-written parser did', () => {
  for (const body of [...COMMON, { id: 'x' }, { id: null }, { id: 'x', cmd: ['a'] }]) {
    assert.deepEqual(outcome(() => parseWorkloadUpdate(body)), outcome(() => legacyParseWorkloadUpdate(body)),
      JSON.stringify(body)?.slice(0, 200));
  }
});

test('config.workloads: entries named by index as before', () => {
  const corpus: unknown[] = [
    [], [{ cmd: ['a'] }, { cmd: 'b', id: 'b' }], [null], ['x'], [{ cmd: ['a'], id: 'd' }, { cmd: ['b'], id: 'd' }],
    [{ cmd: ['a'] }, { cmd: ['a'], env: { 'x-y': '1' } }], [{ cmd: [''] }], [{ command: 5 }], [{ cmd: ['a'], labels: { a: 1 } }],
    {}, 'x', Array.from({ length: MAX_WORKLOADS + 1 }, () => ({ cmd: ['a'] })), [{ cmd: ['a'], user: 'app' }], [[]],
    [{ cmd: ['a'], env: ['A'] }], [{ cmd: ['a'], port: 'x' }], [{}], [{ cmd: ['a'] }, 5], [{ cmd: ['a'], name: ' ' }],
    [{ cmd: ['a'], working_dir: 'rel' }],
  ];
  for (const v of corpus) {
    const norm = (o: Outcome) => ('ok' in o ? { ok: (o.ok as WorkloadSpec[]).map((s) => ({ ...s, created_at: '', updated_at: '' })) } : o);
    assert.deepEqual(norm(outcome(() => parseConfigWorkloads(v))), norm(outcome(() => legacyParseConfigWorkloads(v))),
      JSON.stringify(v).slice(0, 200));
  }
});

test('workloads: defaults of a minimal create body', () => {
  const spec = parseWorkloadCreate({ cmd: 'node app.js' }, '', NOW);
  assert.deepEqual({ ...spec, id: '' }, {
    ...WORKLOAD_DEFAULTS, env: {}, labels: {}, annotations: {}, cmd: ['/bin/sh', '-c', 'node app.js'], id: '', name: 'node',
    extra: {}, created_at: NOW, updated_at: NOW,
  });
  assert.match(spec.id, /^wl_[0-9a-f]{16}$/);
});

test('GET /workspace/:id/workloads query: the zod schema parses as the hand-written parser did', () => {
  const corpus: Record<string, string | undefined>[] = [
    {}, { states: '' }, { states: 'running, stopped,,' }, { states: ' , ' }, { name: '' }, { name: 'web' }, { name: long(129) },
    { name: 'a\0b' }, { name: long(128) }, { limit: '' }, { limit: '1' }, { limit: '1000' }, { limit: '0' }, { limit: '1001' },
    { limit: '2.5' }, { limit: 'x' }, { limit: ' 5 ' }, { limit: '0x10' }, { limit: ' ' }, { other: 'x' },
    { states: 'running', name: 'n', limit: '3' }, { name: long(129), limit: 'x' }, { limit: undefined },
  ];
  for (const q of corpus) {
    assert.deepEqual(outcome(() => parseWorkloadList(q)), outcome(() => legacyParseWorkloadList(q)), JSON.stringify(q).slice(0, 100));
  }
});
