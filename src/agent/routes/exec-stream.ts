/**
 * Streaming exec and stdin (runtime.md §5.6–5.7):
 *   POST /exec/stream               start a task and stream it as SSE
 *   POST /exec  {stream:true}       same (dispatched from routes/exec.ts)
 *   GET  /exec/stream?task_id=ID    attach to a task: replay, then live, then `exit`
 *   POST /exec/:id/input            raw body → the task's stdin, any content type
 *
 * Wire format: named events, one single-line JSON `data: ` per event, no `event` key
 * in any payload and no `data` key outside stdout/stderr. `task_id` comes first for a
 * new task, `exit` last, then the stream ends. Heartbeats are SSE comments.
 */
import type { ServerResponse } from 'node:http';
import { AppError } from '../../contract/errors.js';
import { sseEvent, SSE_HEADERS, SSE_HEARTBEAT } from '../../contract/sse.js';
import { readRawBody, reply, type RequestContext, type Router } from '../http.js';
import { BODY_LIMITS } from '../../config/limits.js';
import type { ExecTask } from '../exec/task.js';
import type { TaskStore } from '../exec/tasks.js';

/** Largest stdin chunk accepted by one input call (413 beyond; src/config/limits.ts, as the gateway's cap). */
export const MAX_INPUT_BYTES = BODY_LIMITS.runtimeJson;
const HEARTBEAT_MS = 15_000;
/**
 * A client that lets this much unsent SSE pile up is cut off (it can re-attach with
 * GET /exec/stream or read GET /exec/:id); agent memory never grows with a slow reader.
 */
export const SSE_MAX_BACKLOG = 8 * 1024 * 1024;

export interface ExecStreamDeps {
  tasks: TaskStore;
  /** Validates a JSON exec body and starts the task (shared with POST /exec). */
  startFromBody: (ctx: RequestContext) => Promise<ExecTask>;
}

/** Must be registered before `/exec/:id` so `stream` is not taken for an id. */
export function registerExecStreamRoutes(router: Router, deps: ExecStreamDeps): void {
  router
    .post('/exec/stream', async (ctx) => {
      const task = await deps.startFromBody(ctx);
      return streamNewTask(ctx.res, task);
    })
    .get('/exec/stream', (ctx) => {
      const id = ctx.query.get('task_id') ?? ctx.query.get('id') ?? '';
      if (id === '') throw new AppError('bad_request', 'task_id is required', { field: 'task_id' });
      const task = deps.tasks.get(id);
      if (!task) throw new AppError('not_found', `Task ${id} not found`, { field: 'task_id' });
      streamTask(ctx.res, task, { announce: false, replay: true });
      return undefined;
    })
    .post('/exec/:id/input', async (ctx) => {
      const id = ctx.params.id ?? '';
      const task = deps.tasks.get(id);
      if (!task) {
        ctx.req.resume();
        throw new AppError('not_found', `Task ${id} not found`, { field: 'id' });
      }
      const data = await readRawBody(ctx.req, MAX_INPUT_BYTES);
      const written = await task.writeInput(data);
      return reply({ success: true, bytes_written: written });
    });
}

/**
 * Streams a task just started by this request. A spawn failure detected before the
 * first byte is answered as a JSON 500 like the synchronous route does.
 */
export async function streamNewTask(res: ServerResponse, task: ExecTask): Promise<undefined> {
  await task.started();
  if (task.status === 'failed' && task.pid === undefined) {
    throw new AppError('spawn_failed', `Failed to start command: ${task.error ?? 'unknown error'}`, {
      task_id: task.id,
      ...(task.errorCode ? { reason: task.errorCode } : {}),
    });
  }
  // Output produced while we awaited the spawn is already buffered: replay it.
  streamTask(res, task, { announce: true, replay: true });
  return undefined;
}

interface StreamOptions {
  /** Send the `task_id` event first. */
  announce: boolean;
  /** Replay output buffered so far (base64 chunks while running, `output` once finished). */
  replay: boolean;
}

function streamTask(res: ServerResponse, task: ExecTask, opts: StreamOptions): void {
  res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  if (opts.announce) res.write(sseEvent('task_id', { task_id: task.id }));
  if (!task.running) {
    if (opts.replay) res.write(sseEvent('output', { stdout: task.stdout.text(), stderr: task.stderr.text() }));
    res.end(sseEvent('exit', exitPayload(task)));
    return;
  }
  if (opts.replay) {
    writeChunk(res, 'stdout', task.stdout.buffer());
    writeChunk(res, 'stderr', task.stderr.buffer());
  }
  follow(res, task);
}

function follow(res: ServerResponse, task: ExecTask): void {
  const onStdout = (c: Buffer) => send('stdout', c);
  const onStderr = (c: Buffer) => send('stderr', c);
  const onExit = () => {
    cleanup();
    res.end(sseEvent('exit', exitPayload(task)));
  };
  const heartbeat = setInterval(() => res.write(SSE_HEARTBEAT), HEARTBEAT_MS);
  heartbeat.unref();
  function send(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (res.writableLength > SSE_MAX_BACKLOG) {
      cleanup();
      res.destroy();
      return;
    }
    writeChunk(res, stream, chunk);
  }
  function cleanup(): void {
    clearInterval(heartbeat);
    task.off('stdout', onStdout);
    task.off('stderr', onStderr);
    task.off('exit', onExit);
  }
  task.on('stdout', onStdout);
  task.on('stderr', onStderr);
  task.once('exit', onExit);
  // The client went away: stop following; the task keeps running.
  res.once('close', cleanup);
}

function writeChunk(res: ServerResponse, stream: 'stdout' | 'stderr', chunk: Buffer): void {
  if (chunk.length > 0) res.write(sseEvent(stream, { data: chunk.toString('base64') }));
}

/**
 * The `exit` payload: exit code (128+signo when killed by a signal, e.g. 137 for the
 * OOM killer's SIGKILL), pid and status, plus `signal`/`error`/`timed_out` when set.
 */
export function exitPayload(task: ExecTask): Record<string, unknown> {
  const p: Record<string, unknown> = { exit_code: task.exitCode ?? -1, pid: task.pid ?? 0, status: task.status };
  if (task.signal) p.signal = task.signal;
  if (task.error) p.error = task.error;
  if (task.timedOut) p.timed_out = true;
  return p;
}
