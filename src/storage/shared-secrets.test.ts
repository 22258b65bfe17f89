/**
 * Secrets in the store's settings (issue 16), here over SQLite: the same contract holds on
 * PostgreSQL (setSettingIfAbsent is a store-contract case for both; the two-replica e2e
 * test/e2e/replicas-tokens.test.ts runs these adapters over one PostgreSQL database).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.js';
import type { NamespaceRecord, Store } from '../store/store.js';
import { AccessTokens } from '../domain/access-tokens.js';
import type { Principal } from '../domain/principal.js';
import { KeyRingSetting, SECRET_SETTINGS, sharedKeyBytes, sharedText } from './shared-secrets.js';

const ADMIN: Principal = { kind: 'admin', clientId: 'cli_admin' };
const AT = '2026-01-01T00:00:00.000Z';

async function storeFor(t: TestContext): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-secrets-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  const ns: NamespaceRecord = {
    id: 'ns_a', slug: 'team-a', name: 'team-a', description: null, status: 'active', type: 'default', is_default: false,
    metadata: {}, tags: [], resource_limits: null, created_at: AT, updated_at: AT, last_active_at: null,
  };
  await store.putNamespace(ns);
  return store;
}

test('a shared key is made once: every caller, also racing ones, gets the same bytes', async (t) => {
  const store = await storeFor(t);
  const keys = await Promise.all([1, 2, 3].map(() => sharedKeyBytes(store, SECRET_SETTINGS.gatewaySigningKey, 32)));
  assert.equal(keys[0]!.length, 32);
  for (const k of keys) assert.ok(k.equals(keys[0]!));
  assert.ok((await sharedKeyBytes(store, SECRET_SETTINGS.gatewaySigningKey, 32)).equals(keys[0]!));
  await store.setSetting('secret.short', Buffer.alloc(4).toString('base64'));
  await assert.rejects(sharedKeyBytes(store, 'secret.short', 32), /4 bytes/);
});

test('a shared text secret keeps the first value; an unusable stored one is an error, not silently replaced', async (t) => {
  const store = await storeFor(t);
  let n = 0;
  const make = () => `key-${++n}`;
  assert.equal(await sharedText(store, 'secret.k', make, () => true), 'key-1');
  assert.equal(await sharedText(store, 'secret.k', make, () => true), 'key-1');
  await assert.rejects(sharedText(store, 'secret.k', make, (v) => v !== 'key-1'), /unusable/);
  assert.equal(await store.getSetting('secret.k'), 'key-1');
});

test('two token services on one store: one ring made at start; rotation and revocation reach the other on reload', async (t) => {
  const store = await storeFor(t);
  const make = () => new AccessTokens({ store, ring: new KeyRingSetting(store), findWorkspace: (id) => store.findWorkspace(id) });
  const [a, b] = [make(), make()];
  await Promise.all([a.init(), b.init()]);
  const cmd = { scope: 'namespace' as const, namespace: 'team-a', workspaceId: null, ttl: 900, label: null };
  const first = await a.issue(cmd, ADMIN);
  assert.equal(b.verify(first.token)?.jti, first.id, 'B verifies what A signed: one ring');

  await a.rotate(false);
  const second = await a.issue(cmd, ADMIN);
  assert.equal(b.verify(second.token), null, 'before the reload B does not know the new key');
  await b.reload();
  assert.equal(b.verify(second.token)?.jti, second.id);
  assert.equal(b.verify(first.token)?.jti, first.id, 'the retired key still verifies');

  await a.revoke(second.id, ADMIN);
  await b.reload();
  assert.equal(b.verify(second.token), null, 'a revocation on A holds on B');

  await a.rotate(true);
  await b.reload();
  assert.equal(b.verify(first.token), null, 'rotate-and-revoke ends old tokens on B');
  const third = await b.issue(cmd, ADMIN);
  assert.equal(a.verify(third.token)?.jti, third.id, 'B signs with the ring A rotated');
});
