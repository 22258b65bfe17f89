/**
 * GET /metrics (Prometheus text) and the API latency middleware.
 *
 * /metrics bypasses the generic authentication (app.ts PUBLIC_PATHS) and does its own:
 * the admin API key, or `Authorization: Bearer <WARREN_METRICS_TOKEN>` when the operator
 * set one (a scraper then needs no admin key). Anything else: 401 in the usual envelope.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { AppError } from '../../contract/errors.js';
import { safeEqual } from '../../domain/tokens.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { publicRoute } from '../scopes.js';

export const METRICS_PATH = '/metrics';

function bearerOf(header: string | undefined): string | null {
  const m = header ? /^\s*Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

async function authorizeScrape(ctx: ControlPlaneContext, get: (name: string) => string | undefined): Promise<void> {
  const token = ctx.metricsToken;
  const bearer = bearerOf(get('authorization'));
  if (token && bearer && safeEqual(bearer, token)) return;
  if (get('x-client-id') && get('x-client-secret')) {
    const principal = await ctx.auth.authenticate({ get });
    if (principal.kind === 'admin') return;
  }
  throw new AppError('unauthorized', token
    ? 'Metrics need the admin API key or the metrics token (Authorization: Bearer)'
    : 'Metrics need the admin API key (X-Client-ID and X-Client-Secret)');
}

export function metricsRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  app.get(METRICS_PATH, publicRoute, async (c) => { // public to the generic check; authorizeScrape decides
    await authorizeScrape(ctx, (n) => c.req.header(n));
    const { contentType, body } = await ctx.metrics.render();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  return app;
}

/**
 * Times every control-plane request (errors included: onError answers inside `next`).
 * The label is the matched route pattern (`/workspace/:id/stats`), never the raw path;
 * a request no route matched is `unmatched`.
 */
export function requestTimer(observe: ControlPlaneContext['metrics']['observeHttp']): MiddlewareHandler<Env> {
  return async (c, next) => {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      let route = routePath(c);
      if (route === '*' || route === '/*') route = routePath(c, -1);
      if (route === '*' || route === '/*') route = 'unmatched';
      observe(c.req.method, route, c.res.status, (performance.now() - t0) / 1000);
    }
  };
}
