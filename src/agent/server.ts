/**
 * The agent's HTTP server: URL parsing, the `/runtimes/:target` prefix (runtime.md
 * §0.1), authentication, routing and the error envelope. Every failure becomes
 * `{success:false, error, code, message, details?}`; nothing a client sends can
 * crash the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError, isAppError } from '../contract/errors.js';
import { faultDetail, isServerFault } from '../contract/envelope.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../contract/request-id.js';
import { authenticate, type TokenSource } from './auth.js';
import { loggablePath, Router, sendError, sendJson, type RequestContext } from './http.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRuntimeRoutes, isKnownTarget } from './routes/runtime.js';
import { registerExecRoutes, EXEC_CAPABILITIES } from './routes/exec.js';
import { registerFileRoutes, FILES_CAPABILITIES } from './routes/files.js';
import { registerProxyRoutes, handleProxyUpgrade } from './routes/proxy.js';
import { writeSocketError } from './proxy/forward.js';
import { registerTerminalRoutes, TERMINAL_CAPABILITIES } from './routes/terminals.js';
import { registerWatcherRoutes, WATCHER_CAPABILITIES } from './routes/watchers.js';
import { handleWsUpgrade, liveStateFor, rejectUpgrade } from './ws/live.js';
import { isProxyUrl } from './proxy/target.js';
import { authenticateControl, isInternalPath, registerInternalRoutes, type InternalDeps } from './routes/internal.js';
import type { TaskStore } from './exec/tasks.js';
import type { BootServiceStatus } from './supervisor.js';
import { loadHttpLimits, type HttpLimits } from '../config/limits.js';
import { applyHttpTimeouts, guardBodyIdle, httpServerOptions } from '../util/http-guards.js';

export interface AgentLogger {
  (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentDeps {
  tokens: TokenSource;
  tasks: TaskStore;
  configEnv: () => Record<string, string>;
  bootService: () => BootServiceStatus | null;
  log: AgentLogger;
  /** The host's control token: the only credential of `/_warren/*` (missing = those routes refuse everyone). */
  controlTokens?: TokenSource;
  /** Workloads and log files behind `/_warren/*` (routes/internal.ts). */
  internal?: InternalDeps;
  /** Header, body-idle and keep-alive timeouts (src/config/limits.ts); default from the environment. */
  httpLimits?: HttpLimits;
}

const TARGET_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export function buildRouter(deps: AgentDeps): Router {
  const router = new Router();
  registerHealthRoutes(router);
  registerRuntimeRoutes(router, {
    capabilities: [...EXEC_CAPABILITIES, ...FILES_CAPABILITIES, ...TERMINAL_CAPABILITIES, ...WATCHER_CAPABILITIES],
    bootService: deps.bootService,
  });
  registerExecRoutes(router, { tasks: deps.tasks, configEnv: deps.configEnv });
  registerFileRoutes(router);
  registerTerminalRoutes(router, liveStateFor(deps).terminals);
  registerWatcherRoutes(router, liveStateFor(deps).watchers);
  registerProxyRoutes(router);
  if (deps.internal) registerInternalRoutes(router, deps.internal);
  return router;
}

export function createAgentServer(deps: AgentDeps): Server {
  const router = buildRouter(deps);
  const limits = deps.httpLimits ?? loadHttpLimits();
  const server = createServer(httpServerOptions(limits), (req, res) => {
    guardBodyIdle(req, res, limits.bodyIdleTimeoutMs);
    handle(router, deps, req, res).catch((err) => {
      deps.log('error', 'request handler crashed', { err: String(err) });
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  });
  // Headers must arrive in time, a body must keep moving, idle keep-alive sockets close (the
  // default outlives the gateway's pool); no total request timeout: uploads and streams run long.
  // No per-client connection cap: the agent hears only the gateway and the host, which the
  // main server already caps per client.
  applyHttpTimeouts(server, limits);
  // WebSocket upgrades: /proxy… (runtime.md §11.3). Another listener may own other
  // paths (/ws); when none does, the upgrade is refused instead of left hanging.
  server.on('upgrade', (req, socket, head) => {
    if (handleProxyUpgrade(deps.tokens, req, socket, head)) return;
    if (server.listenerCount('upgrade') === 1) writeSocketError(socket, new AppError('not_found', 'No WebSocket endpoint here'));
  });
  // WebSocket upgrades: /ws (runtime.md §9), also under /runtimes/:target; any other
  // non-proxy path is refused here.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isProxyUrl(req.url ?? '/')) return;
    try {
      const { path, query } = parseRequestUrl(req.url ?? '/');
      handleWsUpgrade(deps, req, socket, head, path, query).catch((err) => rejectUpgrade(socket, err));
    } catch (err) {
      rejectUpgrade(socket, err);
    }
  });
  server.on('close', () => liveStateFor(deps).close());
  return server;
}

interface ParsedTarget {
  path: string;
  query: URLSearchParams;
  target: string | null;
}

/** Splits the raw URL and strips a `/runtimes/:target` prefix (404 for unknown targets). */
export function parseRequestUrl(rawUrl: string): ParsedTarget {
  const q = rawUrl.indexOf('?');
  let path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
  if (!path.startsWith('/')) throw new AppError('bad_request', 'Malformed request target');
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const m = /^\/runtimes\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return { path, query, target: null };
  const target = m[1] as string;
  if (!TARGET_NAME.test(target) || !isKnownTarget(target)) {
    throw new AppError('unknown_target', `Unknown runtime target: ${target.slice(0, 64)}`, { field: 'target' });
  }
  return { path: m[2] ?? '/', query, target };
}

async function handle(router: Router, deps: AgentDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  // The gateway forwards its id, so the agent's log and the gateway's name the same request.
  const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  try {
    const { path, query, target } = parseRequestUrl(req.url ?? '/');
    const { route, params } = matchAuthenticated(router, deps, req, method, path, query);
    if (route.rootOnly && target !== null) {
      throw new AppError('not_found', `No route for ${method} ${path} under a target prefix`);
    }
    const ctx: RequestContext = { req, res, method, path, target, query, params };
    const result = await route.handler(ctx);
    if (result) sendJson(res, result.status, result.body);
  } catch (err) {
    // A 5xx answers a fixed message and the id; the detail is logged here under that id.
    const status = sendError(res, err, requestId);
    if (isServerFault(status)) {
      const what = isAppError(err) ? 'server fault' : 'unhandled error';
      deps.log('error', what, { request_id: requestId, method, path: loggablePath(req.url), ...faultDetail(err) });
    }
  }
}

/**
 * Matches the route and authenticates unless it is public. Unauthenticated callers
 * get 401 even for unknown paths, so they cannot probe which routes exist. `/_warren/*`
 * takes only the control token, every other path only the runtime token.
 */
function matchAuthenticated(
  router: Router, deps: AgentDeps, req: IncomingMessage, method: string, path: string, query: URLSearchParams,
) {
  const check = isInternalPath(path)
    ? () => authenticateControl(deps.controlTokens ?? NO_TOKEN, req)
    : () => authenticate(deps.tokens, req, query);
  let match;
  try {
    match = router.match(method, path);
  } catch (err) {
    check();
    throw err;
  }
  if (!match.route.public) check();
  return match;
}

const NO_TOKEN: TokenSource = { token: () => null };

