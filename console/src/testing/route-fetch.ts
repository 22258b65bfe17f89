/**
 * Component tests' stand-in for the API: `routeFetch({ 'GET /workspace': body | handler })`
 * replaces `fetch`, answers JSON by "METHOD path" (query ignored), 404 `not_found` for
 * anything else, and records every call (method, path, parsed body). Test-only.
 */
import { vi } from 'vitest';

export interface Call { method: string; path: string; body: unknown }
export type Reply = { status?: number; body?: unknown };
export type Route = Reply | ((call: Call) => Reply);

export function apiError(status: number, code: string, message: string, details: Record<string, unknown> = {}): Reply {
  return { status, body: { success: false, code, error: code, message, details } };
}

export function routeFetch(routes: Record<string, Route>): Call[] {
  const calls: Call[] = [];
  const fake = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://console.test');
    const method = (init?.method ?? 'GET').toUpperCase();
    const call: Call = { method, path: url.pathname, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const route = routes[`${method} ${url.pathname}`];
    const reply = typeof route === 'function' ? route(call) : route ?? apiError(404, 'not_found', `${method} ${url.pathname} not found`);
    return new Response(JSON.stringify(reply.body ?? { success: true }), {
      status: reply.status ?? 200, headers: { 'content-type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fake);
  return calls;
}
