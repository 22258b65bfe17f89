/**
 * auth_overhead: p50 of the control plane's `GET /workspace/:id` over HTTP (keep-alive) with
 * an admin API key and with a namespace-scoped JWT, against the same app with no auth check
 * (an authenticator that answers "admin" at once) — same store, same record, same route,
 * requests interleaved so the three see the same machine. Targets: JWT ≤ 1.2×, API key ≤ 1.5×
 * the no-auth p50 (the key path answers from its cache of verified secrets).
 *
 * The app is the real one (`createControlPlane`) on a real SQLite store; only the services
 * this route never calls are left out, so no sandbox is started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createControlPlane } from '../src/control-plane/app.js';
import type { ControlPlaneContext } from '../src/control-plane/context.js';
import { AccessTokens } from '../src/domain/access-tokens.js';
import { Authenticator } from '../src/domain/auth.js';
import { hashSecret } from '../src/domain/secrets.js';
import { KeyRingFile } from '../src/storage/key-ring.js';
import { sampleWorkspace } from '../src/store/contract-fixtures.js';
import { openStore } from '../src/store/open.js';
import type { Store, WorkspaceRecord } from '../src/store/store.js';
import { result, type BenchResult } from './stats.js';

export const AUTH_BENCHMARKS = ['auth_overhead', 'auth_overhead_api_key'];
const N = Number(process.env.BENCH_AUTH_N ?? 3000);
const KEY = { id: 'bench-admin', secret: 'bench-secret-0123456789' };

function context(store: Store, auth: Pick<Authenticator, 'authenticate'>): ControlPlaneContext {
  const find = (id: string) => store.findWorkspace(id);
  const used: Partial<ControlPlaneContext> = {
    store, auth: auth as Authenticator,
    workspaces: { find, get: async (id: string) => (await find(id))! } as unknown as ControlPlaneContext['workspaces'],
    publicAccess: { summaries: async () => [] } as unknown as ControlPlaneContext['publicAccess'],
    metrics: { render: async () => ({ contentType: 'text/plain', body: '' }), observeHttp: () => {} },
  };
  return used as ControlPlaneContext;
}

function listen(ctx: ControlPlaneContext): Promise<{ url: string; server: ServerType }> {
  const app = createControlPlane(ctx, { networkGateway: '10.0.0.1' });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve({ url: `http://127.0.0.1:${info.port}`, server }));
  });
}

async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return performance.now() - t0;
}

export async function authBenchmarks(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-bench-auth-'));
  const store = await openStore({ dataDir: dir });
  const servers: ServerType[] = [];
  try {
    const at = new Date().toISOString();
    await store.putNamespace({ id: 'ns_bench', slug: 'bench', name: 'bench', description: null, status: 'active', type: 'default', is_default: false,
      metadata: {}, tags: [], resource_limits: null, created_at: at, updated_at: at, last_active_at: null });
    const ws: WorkspaceRecord = sampleWorkspace({ namespace: 'bench', state: 'running' });
    await store.insertWorkspace(ws);
    await store.putApiKey({ clientId: KEY.id, secretHash: await hashSecret(KEY.secret), scope: 'admin', createdAt: at });
    const tokens = new AccessTokens({ store, ring: new KeyRingFile(join(dir, 'keys.json')), findWorkspace: (id) => store.findWorkspace(id) });
    await tokens.init();
    const jwt = (await tokens.issue({ scope: 'namespace', namespace: 'bench', workspaceId: null, ttl: 3600, label: null }, { kind: 'admin', clientId: KEY.id })).token;
    const real = new Authenticator(store, { scopeOfBearer: () => null }, tokens);
    const none = { authenticate: async () => ({ kind: 'admin' as const, clientId: 'none' }) };
    const withAuth = await listen(context(store, real));
    const noAuth = await listen(context(store, none));
    servers.push(withAuth.server, noAuth.server);
    const path = `/workspace/${ws.id}`;
    const variants = {
      key: () => timed(withAuth.url + path, { 'x-client-id': KEY.id, 'x-client-secret': KEY.secret }),
      jwt: () => timed(withAuth.url + path, { authorization: `Bearer ${jwt}` }),
      none: () => timed(noAuth.url + path, {}),
    };
    for (let i = 0; i < 200; i++) for (const v of Object.values(variants)) await v(); // warm-up (JIT, the key cache)
    const times = { key: [] as number[], jwt: [] as number[], none: [] as number[] };
    for (let i = 0; i < N; i++) {
      for (const k of Object.keys(variants) as Array<keyof typeof variants>) times[k].push(await variants[k]());
    }
    return [
      result('auth_overhead', 'ms', times.jwt, 'same GET /workspace/:id with no auth check (namespace-scoped JWT measured)', times.none),
      result('auth_overhead_api_key', 'ms', times.key, 'same GET /workspace/:id with no auth check (admin API key measured)', times.none),
    ];
  } finally {
    for (const s of servers) s.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
