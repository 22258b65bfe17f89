/**
 * Exec routes (runtime.md §5.1–5.5):
 *   POST   /exec       run a command, answer when it ends (task object at top level)
 *   GET    /exec       { success, tasks } (without output)
 *   GET    /exec/:id   the task object, 404 if unknown
 *   DELETE /exec/:id   kill + forget
 *   DELETE /exec       kill + forget all → { success, deleted }
 * Streaming (`stream: true`, /exec/stream) and stdin live in routes/exec-stream.ts.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { AppError } from '../../contract/errors.js';
import { readJsonObject, reply, type RequestContext, type Router } from '../http.js';
import { parseCmd, parseMode, resolveCommand } from '../exec/command.js';
import { DEFAULT_TTL_SECONDS, type TaskStore } from '../exec/tasks.js';
import { defaultCwd, HOME, workspaceEnv } from '../process.js';
import type { ExecTask, TaskOptions } from '../exec/task.js';
import { registerExecStreamRoutes, streamNewTask } from './exec-stream.js';

/** Per-stream output cap of one task (`truncated: true` beyond). */
export const EXEC_OUTPUT_CAP = 10 * 1024 * 1024;
const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

export interface ExecDeps {
  tasks: TaskStore;
  /** The workspace env from config.json, read at request time. */
  configEnv: () => Record<string, string>;
}

export const EXEC_CAPABILITIES = ['exec'];

export function registerExecRoutes(router: Router, deps: ExecDeps): void {
  registerExecStreamRoutes(router, {
    tasks: deps.tasks,
    startFromBody: async (ctx) => startStreamed(await readJsonObject(ctx.req), deps),
  });
  router
    .post('/exec', (ctx) => runSync(ctx, deps))
    .get('/exec', () => reply({ success: true, tasks: deps.tasks.list().map((t) => t.toJSON(false)) }))
    .delete('/exec', () => reply({ success: true, deleted: deps.tasks.deleteAll() }))
    .get('/exec/:id', (ctx) => {
      const task = deps.tasks.get(ctx.params.id ?? '');
      if (!task) throw notFound(ctx.params.id);
      return reply({ success: true, ...task.toJSON() });
    })
    .delete('/exec/:id', (ctx) => {
      if (!deps.tasks.delete(ctx.params.id ?? '')) throw notFound(ctx.params.id);
      return reply({ success: true, id: ctx.params.id });
    });
}

function notFound(id: string | undefined): AppError {
  return new AppError('not_found', `Task ${id ?? ''} not found`, { field: 'id' });
}

/** A task whose output is streamed keeps stdin open for POST /exec/:id/input. */
function startStreamed(body: Record<string, unknown>, deps: ExecDeps): ExecTask {
  return deps.tasks.start({ ...parseExecBody(body, deps.configEnv()), openStdin: true });
}

async function runSync(ctx: RequestContext, deps: ExecDeps) {
  const body = await readJsonObject(ctx.req);
  if (body.stream === true || body.stream === 'true') return streamNewTask(ctx.res, startStreamed(body, deps));
  const opts = parseExecBody(body, deps.configEnv());
  const task = deps.tasks.start(opts);
  await task.done;
  if (task.status === 'failed' && task.pid === undefined) {
    throw new AppError('spawn_failed', `Failed to start command: ${task.error ?? 'unknown error'}`, {
      task_id: task.id,
      ...(task.errorCode ? { reason: task.errorCode } : {}),
    });
  }
  return reply({ success: true, ...task.toJSON() });
}

/** Validates an exec body into task options; 400 with `details.field` on bad input. */
export function parseExecBody(body: Record<string, unknown>, configEnv: Record<string, string>): TaskOptions {
  const cmd = parseCmd(body.cmd ?? body.command);
  const command = resolveCommand(cmd, parseMode(body.exec_mode));
  return {
    command,
    cwd: parseCwd(body.cwd),
    env: workspaceEnv(configEnv, parseEnv(body.env)),
    timeoutSeconds: parseNumber(body.timeout_seconds, 'timeout_seconds', 0, MAX_TIMEOUT_SECONDS) ?? 0,
    ttlSeconds: parseTtl(body.ttl_seconds),
    keepLogs: body.keep_logs === true,
    outputCap: EXEC_OUTPUT_CAP,
  };
}

function parseNumber(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw new AppError('bad_request', `${field} must be a number between ${min} and ${max}`, { field });
  }
  return n;
}

function parseTtl(v: unknown): number {
  const n = parseNumber(v, 'ttl_seconds', -1, 365 * 24 * 3600);
  if (n === undefined || n === 0) return DEFAULT_TTL_SECONDS;
  return n < 0 ? -1 : Math.floor(n);
}

function parseEnv(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new AppError('bad_request', 'env must be an object of strings', { field: 'env' });
  }
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k.length === 0 || k.includes('=') || k.includes('\0')) {
      throw new AppError('bad_request', `Invalid env name: ${JSON.stringify(k)}`, { field: 'env' });
    }
    if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') {
      const s = String(val);
      if (s.includes('\0')) throw new AppError('bad_request', `env ${k} contains a NUL byte`, { field: 'env' });
      env[k] = s;
    } else {
      throw new AppError('bad_request', `env ${k} must be a string`, { field: 'env' });
    }
  }
  return env;
}

function parseCwd(v: unknown): string {
  if (v === undefined || v === null || v === '') return defaultCwd();
  if (typeof v !== 'string' || v.includes('\0')) {
    throw new AppError('bad_request', 'cwd must be a path', { field: 'cwd' });
  }
  const dir = isAbsolute(v) ? v : resolve(HOME, v);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new AppError('bad_request', `cwd ${dir} is not a directory`, { field: 'cwd' });
  return dir;
}
