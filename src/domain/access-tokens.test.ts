import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import type { NamespaceRecord } from '../store/store.js';
import { KeyRingFile } from '../storage/key-ring.js';
import { AccessTokens } from './access-tokens.js';
import type { Principal } from './principal.js';
import { AppError } from '../contract/errors.js';

const ADMIN: Principal = { kind: 'admin', clientId: 'cli_admin' };

function ns(id: string, slug: string): NamespaceRecord {
  const at = '2026-01-01T00:00:00.000Z';
  return {
    id, slug, name: slug, description: null, status: 'active', type: 'default', is_default: false, metadata: {}, tags: [],
    resource_limits: null, created_at: at, updated_at: at, last_active_at: null,
  };
}

async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'warren-tokens-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  await store.putNamespace(ns('ns_a', 'team-a'));
  await store.putNamespace(ns('ns_b', 'team-b'));
  const wsA = sampleWorkspace({ namespace: 'team-a' });
  const wsB = sampleWorkspace({ namespace: 'team-b' });
  await store.insertWorkspaces([wsA, wsB]);
  const ring = new KeyRingFile(join(dir, 'secrets', 'access-keys.json'));
  const make = async () => {
    const tokens = new AccessTokens({ store, ring, findWorkspace: (id) => store.findWorkspace(id) });
    await tokens.init();
    return tokens;
  };
  return { store, wsA, wsB, make, tokens: await make() };
}

const cmd = (over: Partial<Parameters<AccessTokens['issue']>[0]>) => ({ scope: 'namespace' as const, namespace: 'team-a', workspaceId: null, ttl: 900, label: null, ...over });

test('a namespace token carries its namespace id, expires on time and verifies after a restart', async (t) => {
  const { tokens, make } = await setup(t);
  const issued = await tokens.issue(cmd({}), ADMIN);
  assert.equal(issued.scope, 'namespace');
  assert.equal(issued.namespace, 'team-a');
  assert.ok(Math.abs(Date.parse(issued.expiresAt) - Date.now() - 900_000) < 2000);
  assert.equal(tokens.verify(issued.token)?.ns, 'ns_a');
  assert.equal((await make()).verify(issued.token)?.jti, issued.id, 'the key ring survives a restart');
  assert.equal(tokens.verify(issued.token.slice(0, -2) + 'xx'), null, 'a changed signature is refused');
});

test('revoked tokens stop at once, also after a restart', async (t) => {
  const { tokens, make } = await setup(t);
  const issued = await tokens.issue(cmd({}), ADMIN);
  await tokens.revoke(issued.id, ADMIN);
  assert.equal(tokens.verify(issued.token), null);
  assert.equal((await make()).verify(issued.token), null);
});

test('rotation keeps old tokens valid unless it revokes them', async (t) => {
  const { tokens } = await setup(t);
  const a = await tokens.issue(cmd({}), ADMIN);
  await tokens.rotate(false);
  const b = await tokens.issue(cmd({}), ADMIN);
  assert.ok(tokens.verify(a.token) && tokens.verify(b.token));
  assert.notEqual(JSON.parse(Buffer.from(a.token.split('.')[0]!, 'base64url').toString()).kid,
    JSON.parse(Buffer.from(b.token.split('.')[0]!, 'base64url').toString()).kid);
  const r = await tokens.rotate(true);
  assert.equal(r.revoked, 2);
  assert.equal(tokens.verify(a.token), null);
  assert.equal(tokens.verify(b.token), null);
});

test('a namespace caller only narrows: its own workspaces yes, others 403 whether they exist or not', async (t) => {
  const { tokens, wsA, wsB } = await setup(t);
  const caller: Principal = { kind: 'namespace', namespace: { id: 'ns_a', slug: 'team-a', suspended: false }, clientId: 'k' };
  const ok = await tokens.issue(cmd({ scope: 'workspace', namespace: null, workspaceId: wsA.id }), caller);
  assert.equal(ok.workspaceId, wsA.id);
  for (const c of [cmd({ namespace: 'team-b' }), cmd({ namespace: 'nope' }), cmd({ scope: 'workspace', workspaceId: wsB.id }), cmd({ scope: 'workspace', workspaceId: 'ws_missing' })]) {
    await assert.rejects(tokens.issue(c, caller), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
  }
  await assert.rejects(tokens.issue(cmd({ namespace: 'nope' }), ADMIN), (e: unknown) => e instanceof AppError && e.code === 'not_found');
  assert.deepEqual((await tokens.list(caller)).map((x) => x.id), [ok.id]);
});
