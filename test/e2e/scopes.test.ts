/**
 * Many callers on one Warren (spec README §2.1, control-plane.md §1): an admin key, a
 * namespace token, a workspace token, a namespace API key and a billing key side by side,
 * through the official library and CLI; and one table test that walks every route the
 * control-plane router has, with every kind of caller.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Oblien } from 'oblien';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { adminClient, type Client } from '../support/workspaces.js';
import { createControlPlane } from '../../src/control-plane/app.js';
import type { RouteAccess } from '../../src/control-plane/scopes.js';
import type { Scope } from '../../src/domain/principal.js';

let server: TestServer;
let admin: Client;
const harness = cliHarness(() => server);
const made = { wsA: '', wsB: '' };
const creds = {} as Record<'namespace' | 'workspace' | 'nsKey' | 'billing' | 'longLived', Record<string, string>>;

type Auth = Record<string, string>;
const bearer = (token: string): Auth => ({ authorization: `Bearer ${token}` });

async function call(method: string, path: string, auth: Auth, body?: unknown) {
  const res = await fetch(server.url + path, {
    method, headers: { 'content-type': 'application/json', ...auth },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: json };
}

async function token(body: Record<string, unknown>, auth?: Auth): Promise<any> {
  const r = auth ? await call('POST', '/tokens', auth, body) : await api(server, 'POST', '/tokens', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  admin = adminClient(server);
  await admin.namespaces.create({ name: 'team-a' } as any);
  await admin.namespaces.create({ name: 'team-b' } as any);
  made.wsA = (await admin.workspaces.create({ image: 'debian-12', memory_mb: 128, namespace: 'team-a' } as any)).id;
  made.wsB = (await admin.workspaces.create({ image: 'debian-12', memory_mb: 128, namespace: 'team-b' } as any)).id;
  creds.namespace = bearer((await token({ scope: 'namespace', namespace: 'team-a' })).token);
  creds.workspace = bearer((await token({ scope: 'workspace', workspaceId: made.wsA, ttl: 600 })).token);
  const key = (await api(server, 'POST', '/api-keys', { scope: 'namespace', namespace: 'team-a', label: 'ci' })).body;
  creds.nsKey = { 'x-client-id': key.client_id, 'x-client-secret': key.client_secret };
  const billing = (await api(server, 'POST', '/api-keys', { scope: 'billing' })).body;
  creds.billing = { 'x-client-id': billing.client_id, 'x-client-secret': billing.client_secret };
  await api(server, 'POST', `/workspace/${made.wsA}/runtime-api-access/enable`);
  const long = await api(server, 'POST', `/workspace/${made.wsA}/runtime-api-access/workspace`);
  assert.equal(long.status, 200, JSON.stringify(long.body));
  creds.longLived = bearer(long.body.token);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

test('the official library: each caller sees exactly its own', async () => {
  const ns = new Oblien({ token: creds.namespace.authorization!.slice(7), baseUrl: server.url } as any);
  const ws = new Oblien({ token: creds.workspace.authorization!.slice(7), baseUrl: server.url } as any);
  const list = async (c: Client) => ((await c.workspaces.list()) as any).workspaces.map((w: any) => w.id).sort();
  assert.deepEqual(await list(admin), [made.wsA, made.wsB].sort());
  assert.deepEqual(await list(ns), [made.wsA]);
  assert.deepEqual(await list(ws), [made.wsA]);
  assert.equal((await ws.workspaces.get(made.wsA)).id, made.wsA);
  for (const c of [ns, ws]) await assert.rejects(c.workspaces.get(made.wsB), (e: any) => e.status === 403);

  // Global endpoints answer within scope.
  const quota = (await call('GET', '/workspace/quota', creds.namespace)).body;
  assert.equal(quota.currentSandboxes, 1);
  assert.equal(quota.namespace, 'team-a');
  assert.equal((await call('GET', '/workspace/quota', creds.workspace)).status, 403);
  const usage = (await call('GET', '/workspace/usage', creds.workspace)).body;
  assert.deepEqual(Object.keys(usage.workspaces).filter((id) => id !== made.wsA), []);
  assert.equal((await call('GET', '/workspace/images', creds.workspace)).status, 200);

  // Creates are forced into the caller's namespace; naming another is refused.
  const forced = await ns.workspaces.create({ image: 'debian-12', memory_mb: 128, wait_ready: false } as any);
  assert.equal((await admin.workspaces.get(forced.id) as any).namespace, 'team-a');
  await assert.rejects(ns.workspaces.create({ image: 'debian-12', namespace: 'team-b' } as any), (e: any) => e.status === 403);
  await assert.rejects(ws.workspaces.create({ image: 'debian-12' } as any), (e: any) => e.status === 403);
  await admin.workspaces.delete(forced.id);

  // The namespace listing: the namespace caller sees its own namespace only.
  const seen: any = await ns.namespaces.list();
  assert.deepEqual(seen.data.map((n: any) => n.slug), ['team-a']);
  await assert.rejects(ns.namespaces.get('team-b'), (e: any) => e.status === 403);
  await assert.rejects(ns.namespaces.suspend('team-a'), (e: any) => e.status === 403, 'a namespace cannot (un)suspend itself');

});

test('a foreign workspace and a missing one get the same 403', async () => {
  for (const auth of [creds.namespace, creds.workspace, creds.nsKey, creds.longLived]) {
    const foreign = await call('GET', `/workspace/${made.wsB}`, auth);
    const missing = await call('GET', '/workspace/ws_0000000000000000', auth);
    assert.equal(foreign.status, 403);
    assert.equal(missing.status, 403);
    assert.equal(foreign.body.code, missing.body.code);
    assert.equal(foreign.body.details?.field, 'id');
  }
  assert.equal((await api(server, 'GET', '/workspace/ws_0000000000000000')).status, 404, 'the admin is told the truth');
});

test('the 30-day workspace token and a namespace API key work on their own workspace', async () => {
  for (const auth of [creds.longLived, creds.nsKey]) {
    const r = await call('GET', `/workspace/${made.wsA}`, auth);
    assert.equal(r.status, 200);
    assert.equal(r.body.workspace.id, made.wsA);
  }
  assert.equal((await call('POST', `/workspace/${made.wsA}/runtime-api-access/workspace`, creds.workspace)).status, 403,
    'a short token cannot mint itself a 30-day one');
});

test('expired, revoked and rotated-away tokens get 401', async () => {
  const short = await token({ scope: 'namespace', namespace: 'team-a', ttl: 1 });
  assert.equal(short.ttl, 1);
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await call('GET', '/workspace', bearer(short.token))).status, 401);

  const revoked = await token({ scope: 'workspace', workspaceId: made.wsA });
  assert.equal((await call('GET', '/workspace', bearer(revoked.token))).status, 200);
  // A namespace caller may list and revoke the tokens of its namespace.
  const listed = (await call('GET', '/tokens', creds.namespace)).body.tokens.map((t: any) => t.id);
  assert.ok(listed.includes(revoked.id));
  assert.equal((await call('DELETE', `/tokens/${revoked.id}`, creds.namespace)).status, 200);
  assert.equal((await call('GET', '/workspace', bearer(revoked.token))).status, 401);

  const before = await token({ scope: 'namespace', namespace: 'team-a' });
  assert.equal((await api(server, 'POST', '/tokens/signing-key/rotate', {})).status, 200);
  assert.equal((await call('GET', '/workspace', bearer(before.token))).status, 200, 'a plain rotation keeps tokens alive');
  const r = await api(server, 'POST', '/tokens/signing-key/rotate', { revokeExisting: true });
  assert.ok(r.body.revoked_tokens >= 1);
  assert.equal((await call('GET', '/workspace', bearer(before.token))).status, 401);
  // The fixtures' tokens went with it: issue new ones.
  creds.namespace = bearer((await token({ scope: 'namespace', namespace: 'team-a' })).token);
  creds.workspace = bearer((await token({ scope: 'workspace', workspaceId: made.wsA, ttl: 600 })).token);
  // Deleting an API key ends it at once, though its secret was verified (and cached) before.
  const key = (await api(server, 'POST', '/api-keys', { scope: 'namespace', namespace: 'team-b' })).body;
  const keyAuth = { 'x-client-id': key.client_id, 'x-client-secret': key.client_secret };
  assert.equal((await call('GET', '/workspace', keyAuth)).status, 200);
  assert.equal((await api(server, 'DELETE', `/api-keys/${key.client_id}`)).status, 200);
  assert.equal((await call('GET', '/workspace', keyAuth)).status, 401);
});

test('the CLI issues scoped tokens (oblien tokens create)', async () => {
  const out = JSON.parse(await harness.cli('tokens', 'create', '--scope', 'namespace', '--namespace', 'team-a', '--ttl', '120', '--json'));
  assert.equal(out.scope, 'namespace');
  assert.equal(out.ttl, 120);
  assert.match(out.token, /^eyJ/);
  assert.ok(Date.parse(out.expiresAt) > Date.now());
  const bad = await api(server, 'POST', '/tokens', { scope: 'namespace', namespace: 'team-a', ttl: 3601 });
  assert.equal(bad.body.code, 'validation_error');
  assert.equal(bad.body.details.field, 'ttl');
});

test('a suspended namespace: its tokens may look, stop and delete, nothing else', async () => {
  await admin.namespaces.create({ name: 'team-s' } as any);
  const id = (await admin.workspaces.create({ image: 'debian-12', memory_mb: 128, namespace: 'team-s' } as any)).id;
  const auth = bearer((await token({ scope: 'namespace', namespace: 'team-s' })).token);
  await admin.namespaces.suspend('team-s');
  const create = await call('POST', '/workspace', auth, { image: 'debian-12' });
  assert.equal(create.status, 403);
  assert.equal(create.body.code, 'namespace_suspended');
  assert.equal((await call('PUT', `/workspace/${id}/metadata`, auth, { a: '1' })).body.code, 'namespace_suspended');
  assert.equal((await call('GET', `/workspace/${id}`, auth)).status, 200);
  assert.equal((await call('POST', `/workspace/${id}/stop`, auth)).status, 200);
  assert.equal((await call('DELETE', `/workspace/${id}`, auth)).status, 200);
});

// ---- the route table ----------------------------------------------------------------

/** The routes the router really has, with the access each declares (read from its handlers). */
function routeTable(): Array<{ method: string; path: string; access: RouteAccess | null }> {
  const anything: any = new Proxy(function () {}, { get: (_t, k) => (k === 'then' ? undefined : anything), apply: () => anything });
  const app = createControlPlane(anything, { networkGateway: '10.0.0.1' });
  const table = new Map<string, { method: string; path: string; access: RouteAccess | null }>();
  for (const r of app.routes) {
    if (r.method === 'ALL') continue; // middleware (authentication, timing)
    const key = `${r.method} ${r.path}`;
    const entry = table.get(key) ?? { method: r.method, path: r.path, access: null };
    const access = (r.handler as { access?: RouteAccess }).access;
    if (access) entry.access = access;
    table.set(key, entry);
  }
  return [...table.values()];
}

const CALLERS: Array<{ kind: Scope; auth: () => Auth }> = [
  { kind: 'namespace', auth: () => creds.namespace },
  { kind: 'workspace', auth: () => creds.workspace },
  { kind: 'billing', auth: () => creds.billing },
];

/** A concrete path: ids point at team-b's workspace or namespace (foreign to every scoped caller). */
function concrete(path: string): string {
  return path.replace(':id', path.startsWith('/namespaces') ? 'team-b' : made.wsB).replace(':namespace', 'team-b')
    .replace(':wid', 'w1').replace(':version', 'v1').replace(':port', '8080').replace(':clientId', 'wk_x').replace('*', 'x.log');
}

test('every route declares its callers, and answers no caller it should not', async () => {
  const routes = routeTable();
  assert.ok(routes.length > 120, `the router has ${routes.length} routes`);
  const undeclared = routes.filter((r) => r.access === null).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(undeclared, [], 'routes without a scope declaration');
  const notAdmin = routes.filter((r) => r.access!.scopes.length > 0 && !r.access!.scopes.includes('admin')).map((r) => r.path);
  assert.deepEqual(notAdmin, [], 'the admin reaches every route');
  const wrong: string[] = [];
  for (const r of routes) {
    if (r.access!.scopes.length === 0) continue; // public: /, /healthz, /metrics (its own check)
    const path = concrete(r.path);
    for (const caller of CALLERS) {
      const allowed = r.access!.scopes.includes(caller.kind);
      const res = await call(r.method, path, caller.auth(), r.method === 'GET' ? undefined : {});
      if (!allowed && (res.status !== 403 || res.body?.code !== 'forbidden')) wrong.push(`${r.method} ${r.path} answered ${caller.kind} with ${res.status}`);
      // Allowed scoped callers asking for team-b's things: 403, as if they did not exist.
      const foreign = r.path.includes(':id') || r.path.includes(':namespace');
      if (allowed && foreign && caller.kind !== 'billing' && res.status !== 403) wrong.push(`${r.method} ${r.path} let ${caller.kind} reach a foreign resource (${res.status})`);
    }
  }
  assert.deepEqual(wrong, []);
  // Nothing of team-b's was touched.
  assert.equal((await admin.workspaces.get(made.wsB)).id, made.wsB);
});
