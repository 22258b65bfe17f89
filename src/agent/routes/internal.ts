/**
 * The agent's internal API, called only by the host (src/gateway/agent-control.ts):
 * workloads, their logs and stats, the event feed, the workspace's log files and its sshd.
 *
 * Auth: `Authorization: Bearer <control token>` (the content of `<control dir>/control-token`),
 * compared in constant time. The runtime token is refused here and the control token on
 * every other route (server.ts picks the check by path); these routes work while the
 * runtime API is disabled. They are not served under `/runtimes/:target` (rootOnly).
 */
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../contract/errors.js';
import { constantTimeEqual, type TokenSource } from '../auth.js';
import { readJsonObject, reply, type RequestContext, type Router } from '../http.js';
import { entryToWire, type EntryLog } from '../logs/entry-log.js';
import type { LogsDir } from '../logs/logs-dir.js';
import { SseChannel, streamLog } from '../logs/sse.js';
import type { WorkloadManager } from '../workloads/manager.js';
import type { SshManager } from '../ssh/manager.js';
import { parseSshConfig } from '../ssh/config.js';

export const INTERNAL_PREFIX = '/_warren';
const DEFAULT_TAIL = 200;
const MAX_TAIL = 10_000;
const DEFAULT_FILE_TAIL = 1000;

export interface InternalDeps {
  workloads: WorkloadManager;
  logsDir: LogsDir;
  cmdLog: EntryLog;
  /** The workspace's sshd (`/_warren/ssh`); absent: those routes are not served. */
  ssh?: SshManager;
  /**
   * `POST /_warren/claim`: boots the workspace (workloads, sshd, cmd) from the config as it is
   * now, once; `booted` is false when it had booted already (so the call is idempotent).
   */
  claim?: () => { booted: boolean };
}

/** Whether `path` (prefix already stripped) belongs to the internal API and so to the control token. */
export function isInternalPath(path: string): boolean {
  return path === INTERNAL_PREFIX || path.startsWith(`${INTERNAL_PREFIX}/`);
}

/** Throws `unauthorized` unless the request carries the current control token in its Authorization header. */
export function authenticateControl(source: TokenSource, req: IncomingMessage): void {
  const expected = source.token();
  if (expected === null) throw new AppError('unauthorized', 'The internal API is not available');
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) throw new AppError('unauthorized', 'Missing control token');
  if (!constantTimeEqual(m[1], expected)) throw new AppError('unauthorized', 'Invalid control token');
}

/** `tail` (or `tail_lines`): lines wanted, default `def`, at most 10000. */
export function parseTailQuery(query: URLSearchParams, def = DEFAULT_TAIL): number {
  const raw = query.get('tail') ?? query.get('tail_lines');
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new AppError('bad_request', 'tail must be a non-negative integer', { field: 'tail' });
  return Math.min(n, MAX_TAIL);
}

function parseSince(query: URLSearchParams): number | undefined {
  const raw = query.get('since');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new AppError('bad_request', 'since must be a non-negative integer', { field: 'since' });
  return n;
}

function wid(ctx: RequestContext): string {
  return ctx.params.wid ?? '';
}

export function registerInternalRoutes(router: Router, deps: InternalDeps): void {
  const o = { rootOnly: true };
  const w = deps.workloads;
  router
    .get('/_warren/workloads', () => reply({ success: true, workloads: w.list() }), o)
    // Literal segments before `:wid` (routes match in registration order).
    .get('/_warren/workloads/stats', () => reply({ success: true, stats: w.stats() }), o)
    .get('/_warren/workloads/:wid', (ctx) => reply({ success: true, workload: w.status(wid(ctx)) }), o)
    .add('PUT', '/_warren/workloads/:wid', async (ctx) => {
      const body = await readJsonObject(ctx.req);
      return reply({ success: true, workload: await w.put(wid(ctx), body) });
    }, o)
    .post('/_warren/workloads/:wid/start', (ctx) => reply({ success: true, workload: w.start(wid(ctx)) }), o)
    .post('/_warren/workloads/:wid/stop', async (ctx) => reply({ success: true, workload: await w.stop(wid(ctx)) }), o)
    .delete('/_warren/workloads/:wid', async (ctx) => {
      await w.delete(wid(ctx));
      return reply({ success: true, deleted: true });
    }, o)
    .get('/_warren/workloads/:wid/stats', (ctx) => reply({ success: true, stats: w.stats(wid(ctx))[0] }), o)
    .get('/_warren/workloads/:wid/logs', (ctx) => {
      const log = w.logOf(wid(ctx));
      return reply({ success: true, entries: log.tail(parseTailQuery(ctx.query)).map(entryToWire) });
    }, o)
    .get('/_warren/workloads/:wid/logs/stream', (ctx) => {
      const id = wid(ctx);
      const log = w.logOf(id);
      streamLog(ctx.res, log, parseTailQuery(ctx.query), { workload_id: id });
      return undefined;
    }, o)
    .get('/_warren/events', (ctx) => {
      const since = parseSince(ctx.query);
      const channel = new SseChannel(ctx.res);
      channel.onDispose(w.subscribe((e) => channel.send(e), since));
      return undefined;
    }, o);
  registerLogRoutes(router, deps);
  const claim = deps.claim;
  if (claim) router.post('/_warren/claim', () => reply({ success: true, ...claim() }), o);
  if (deps.ssh) registerSshRoutes(router, deps.ssh);
}

/** GET: whether sshd runs; PUT: apply the host's SSH document (src/contract/ssh-agent.ts). */
function registerSshRoutes(router: Router, ssh: SshManager): void {
  const o = { rootOnly: true };
  router
    .get('/_warren/ssh', () => reply({ success: true, ssh: ssh.status() }), o)
    .add('PUT', '/_warren/ssh', async (ctx) => {
      const doc = parseSshConfig(await readJsonObject(ctx.req));
      return reply({ success: true, ssh: await ssh.apply(doc) });
    }, o);
}

function registerLogRoutes(router: Router, deps: InternalDeps): void {
  const o = { rootOnly: true };
  router
    .get('/_warren/logs/cmd', (ctx) => reply({
      success: true, entries: deps.cmdLog.tail(parseTailQuery(ctx.query)).map(entryToWire),
    }), o)
    .get('/_warren/logs/cmd/stream', (ctx) => {
      streamLog(ctx.res, deps.cmdLog, parseTailQuery(ctx.query));
      return undefined;
    }, o)
    .get('/_warren/logs/files', () => reply({ success: true, files: deps.logsDir.list() }), o)
    .get('/_warren/logs/file', (ctx) => {
      const name = ctx.query.get('name') ?? '';
      return reply({ success: true, ...deps.logsDir.readFile(name, parseTailQuery(ctx.query, DEFAULT_FILE_TAIL)) });
    }, o)
    .delete('/_warren/logs', () => {
      deps.logsDir.truncateAll([deps.cmdLog, ...deps.workloads.logs()]);
      return reply({ success: true, cleared: true });
    }, o);
}
