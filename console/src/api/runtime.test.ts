import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { saveCredential, loadCredential } from './session.js';
import { ApiError } from './errors.js';
import { accessState, gatewayToken, runtimeJson, turnOnAccess } from './runtime.js';

interface Call { method: string; url: string; auth: string | null; body: unknown }

/** A fetch double: `routes` answers by "METHOD path" (path without the query). */
function fakeFetch(routes: Record<string, (call: Call) => Response>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const headers = new Headers(init?.headers);
    const call = { method: init?.method ?? 'GET', url, auth: headers.get('authorization'), body: init?.body ? JSON.parse(String(init.body)) : undefined };
    calls.push(call);
    const route = routes[`${call.method} ${url.split('?')[0]}`];
    return route ? route(call) : json(404, { success: false, code: 'not_found', message: `no route ${url}` });
  });
  vi.stubGlobal('fetch', fn);
  return calls;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

let tokenNo = 0;
const tokenRoute = (ws: string) => ({
  [`GET /workspace/${ws}/runtime-api-access/token`]: () => json(200, { success: true, token: `tok-${++tokenNo}`, expires_at: new Date(Date.now() + 3600_000).toISOString() }),
});

describe('runtime access', () => {
  beforeEach(() => saveCredential({ kind: 'key', clientId: 'id', clientSecret: 'secret' }));
  afterEach(() => vi.unstubAllGlobals());

  it('gets a gateway token once and sends it as Bearer to the runtime', async () => {
    const calls = fakeFetch({
      ...tokenRoute('ws_a'),
      'GET /terminals': (c) => json(200, { success: true, terminals: [], auth: c.auth }),
    });
    const first = await runtimeJson<{ auth: string }>('ws_a', 'GET', '/terminals');
    const second = await runtimeJson<{ auth: string }>('ws_a', 'GET', '/terminals');
    expect(first.auth).toMatch(/^Bearer tok-\d+$/);
    expect(second.auth).toBe(first.auth);
    expect(calls.filter((c) => c.url.includes('/token'))).toHaveLength(1);
    // The control-plane call carried the console credential, the runtime calls did not.
    expect(calls.find((c) => c.url.includes('/token'))?.auth).toBeNull();
  });

  it('renews the token once on a 401 from the gateway', async () => {
    let refused = 0;
    const calls = fakeFetch({
      ...tokenRoute('ws_b'),
      'GET /files': (c) => {
        if (refused++ === 0) return json(401, { success: false, code: 'unauthorized', message: 'Invalid or expired runtime token' });
        return json(200, { success: true, entries: [], auth: c.auth });
      },
    });
    const stale = await gatewayToken('ws_b');
    const body = await runtimeJson<{ auth: string }>('ws_b', 'GET', '/files', { query: { path: '/' } });
    expect(body.auth).not.toBe(`Bearer ${stale}`);
    expect(calls.filter((c) => c.url.includes('/token'))).toHaveLength(2);
  });

  it('a second 401 is an error for the caller, and the console session stays', async () => {
    fakeFetch({
      ...tokenRoute('ws_c'),
      'GET /files': () => json(401, { success: false, code: 'unauthorized', message: 'Invalid or expired runtime token' }),
    });
    const err = await runtimeJson('ws_c', 'GET', '/files').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect(loadCredential()).not.toBeNull();
  });

  it('runtime errors carry the envelope code and message', async () => {
    fakeFetch({
      ...tokenRoute('ws_d'),
      'GET /files/read': () => json(400, { success: false, code: 'bad_request', message: 'Binary file: /x', details: { reason: 'binary_file' } }),
    });
    const err = await runtimeJson('ws_d', 'GET', '/files/read').catch((e: unknown) => e) as ApiError;
    expect(err.code).toBe('bad_request');
    expect(err.message).toBe('Binary file: /x');
    expect(err.details.reason).toBe('binary_file');
  });

  it('reads both conditions and turns on only what is missing', async () => {
    const calls = fakeFetch({
      'GET /workspace/ws_e/runtime-api-access': () => json(200, { success: true, enabled: true }),
      'GET /workspace/ws_e/network': () => json(200, { success: true, public_access: false }),
      'PATCH /workspace/ws_e/network': () => json(200, { success: true, public_access: true }),
      'POST /workspace/ws_e/runtime-api-access/enable': () => json(200, { success: true, enabled: true, token: 'from-enable' }),
    });
    const state = await accessState('ws_e');
    expect(state).toEqual({ enabled: true, publicAccess: false });
    await turnOnAccess('ws_e', state);
    expect(calls.map((c) => `${c.method} ${c.url}`).slice(2)).toEqual([
      'PATCH /workspace/ws_e/network',
      'POST /workspace/ws_e/runtime-api-access/enable',
    ]);
    expect(calls[2]!.body).toEqual({ public_access: true });
    expect(await gatewayToken('ws_e')).toBe('from-enable');
  });
});
