/**
 * The control-plane HTTP application: authentication, the error envelope and the
 * route modules. Every error leaves through `onError`, which maps AppError codes
 * to statuses via the registry and hides anything else behind `server_error`.
 */
import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { rateKeyOf } from '../domain/principal.js';
import { publicRoute } from './scopes.js';
import { AppError } from '../contract/errors.js';
import { isServerFault, toWireError } from '../contract/envelope.js';
import { REQUEST_ID_HEADER, requestIdFrom } from '../contract/request-id.js';
import type { ControlPlaneContext, Env } from './context.js';
import { workspaceRoutes } from './routes/workspaces.js';
import { usageRoutes } from './routes/usage.js';
import { imageRoutes } from './routes/images.js';
import { imageBuildRoutes } from './routes/image-builds.js';
import { lifecycleRoutes } from './routes/lifecycle.js';
import { runtimeAccessRoutes } from './routes/runtime-access.js';
import { networkRoutes } from './routes/network.js';
import { publicAccessRoutes } from './routes/public-access.js';
import { layerRoutes } from './routes/layers.js';
import { resourceRoutes } from './routes/resources.js';
import { workloadRoutes } from './routes/workloads.js';
import { sshRoutes } from './routes/ssh.js';
import { logRoutes } from './routes/logs.js';
import { metadataRoutes } from './routes/metadata.js';
import { namespaceRoutes } from './routes/namespaces.js';
import { quotaRoutes } from './routes/quotas.js';
import { nodeRoutes } from './routes/nodes.js';
import { tokenRoutes } from './routes/tokens.js';
import { statsRoutes } from './routes/stats.js';
import { METRICS_PATH, metricsRoutes, requestTimer } from './routes/metrics.js';
import { OPENAPI_PATH, openApiRoutes } from './openapi-routes.js';
import { responseLog } from './response-log.js';

export interface ControlPlaneOptions {
  networkGateway: string;
  onInternalError?: (err: unknown, requestId: string) => void;
}

/** Paths reachable without the generic credentials check (/metrics does its own). */
const PUBLIC_PATHS = new Set(['/', '/healthz', METRICS_PATH, OPENAPI_PATH]);

/** The caller's address (for the failed sign-in throttle); the socket's peer, never a header. */
function sourceOf(c: Context<Env>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createControlPlane(ctx: ControlPlaneContext, opts: ControlPlaneOptions): Hono<Env> {
  const app = new Hono<Env>();

  const logResponses = responseLog(); // test builds only (WARREN_TEST_RESPONSE_LOG)
  if (logResponses) app.use('*', logResponses);
  app.use('*', requestTimer(ctx.metrics.observeHttp));
  app.use('*', async (c, next) => {
    const requestId = requestIdFrom(c.req.header(REQUEST_ID_HEADER));
    c.set('requestId', requestId);
    c.header(REQUEST_ID_HEADER, requestId);
    if (!PUBLIC_PATHS.has(c.req.path)) {
      const principal = await ctx.auth.authenticate({ get: (n) => c.req.header(n) }, sourceOf(c));
      c.set('principal', principal);
      const taken = ctx.requestLimiter?.take(rateKeyOf(principal));
      if (taken && !taken.ok) {
        throw new AppError('rate_limited', 'Too many requests; slow down', { retry_after: taken.retryAfterS });
      }
    }
    await next();
  });

  app.get('/', publicRoute, (c) => c.json({ success: true, service: 'warren', api: 'oblien-compatible' }));
  app.get('/healthz', publicRoute, (c) => c.json({ success: true, status: 'ok' }));

  app.route('/', imageBuildRoutes(ctx)); // before imageRoutes: /images/build is not an image name
  app.route('/', imageRoutes(ctx));
  app.route('/', usageRoutes(ctx)); // before workspaceRoutes: /workspace/usage|activity|estimate are not ids
  app.route('/', workspaceRoutes(ctx));
  app.route('/', lifecycleRoutes(ctx));
  app.route('/', layerRoutes(ctx));
  app.route('/', resourceRoutes(ctx));
  app.route('/', runtimeAccessRoutes(ctx));
  app.route('/', networkRoutes(ctx, opts.networkGateway));
  app.route('/', publicAccessRoutes(ctx));
  app.route('/', workloadRoutes(ctx));
  app.route('/', sshRoutes(ctx));
  app.route('/', logRoutes(ctx));
  app.route('/', metadataRoutes(ctx));
  app.route('/', namespaceRoutes(ctx));
  app.route('/', quotaRoutes(ctx));
  app.route('/', nodeRoutes(ctx));
  app.route('/', tokenRoutes(ctx));
  app.route('/', statsRoutes(ctx));
  app.route('/', metricsRoutes(ctx));
  app.route('/', openApiRoutes());

  app.notFound((c) => {
    const { status, body } = toWireError(
      new AppError('not_found', `No route for ${c.req.method} ${c.req.path}`, { field: 'path' }),
      c.get('requestId'),
    );
    return c.json(body, status as 404);
  });

  app.onError((err, c) => {
    const { status, body } = toWireError(err, c.get('requestId'));
    // Every 5xx answers a fixed message; its detail is logged under the id the client got.
    if (isServerFault(status)) opts.onInternalError?.(err, body.request_id!);
    const retry = err instanceof AppError ? err.details?.retry_after : undefined;
    if (typeof retry === 'number') c.header('Retry-After', String(retry));
    return c.json(body, status as 500);
  });

  return app;
}
