/**
 * `GET /openapi.json`: the OpenAPI 3.1 document generated from the route descriptors
 * (src/contract/api/), public like `/healthz`, built and serialised once per process.
 */
import { Hono } from 'hono';
import { openApiText } from '../contract/api/openapi.js';
import { publicRoute } from './scopes.js';
import type { Env } from './context.js';

export const OPENAPI_PATH = '/openapi.json';

export function openApiRoutes(): Hono<Env> {
  const app = new Hono<Env>();
  app.get(OPENAPI_PATH, publicRoute, (c) =>
    c.body(openApiText(), 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' }));
  return app;
}
