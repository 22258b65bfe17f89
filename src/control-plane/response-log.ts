/**
 * Test builds only: with `WARREN_TEST_RESPONSE_LOG=<file>` set, every JSON response of the
 * control plane is appended to that file as one line `{method, route, status, body}`, where
 * `route` is the Hono pattern that answered (null when no route matched). The contract test
 * (test/zz-contract/responses.test.ts) validates the lines against the OpenAPI document.
 * Without the variable this middleware is not installed at all.
 */
import { appendFileSync } from 'node:fs';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Env } from './context.js';

export const RESPONSE_LOG_ENV = 'WARREN_TEST_RESPONSE_LOG';

export interface ResponseRecord {
  method: string;
  route: string | null;
  status: number;
  body: unknown;
}

/** The pattern of the route that takes this request: the first non-middleware route matching its method. */
function routeOf(c: Context<Env>): string | null {
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  const hit = matchedRoutes(c).find((r) => r.method === method);
  return hit?.path ?? null;
}

export function responseLog(file: string | undefined = process.env[RESPONSE_LOG_ENV]): MiddlewareHandler<Env> | null {
  if (!file) return null;
  return async (c, next) => {
    await next();
    if (!(c.res.headers.get('content-type') ?? '').includes('application/json')) return;
    let body: unknown;
    try {
      body = JSON.parse(await c.res.clone().text());
    } catch {
      body = '<not JSON>';
    }
    const record: ResponseRecord = { method: c.req.method, route: routeOf(c), status: c.res.status, body };
    try {
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch {
      // a test aid: a log that cannot be written must not change the answer
    }
  };
}
