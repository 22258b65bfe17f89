/**
 * The behaviour every Store implementation must show, as node:test cases. An
 * implementation's test file calls `runStoreContract('sqlite', factory)`.
 *
 * The factory returns a fresh, migrated, empty store plus:
 * - `reopen()`: opens a new store on the same backing database (the first is closed
 *   by the test before calling it), to prove persistence;
 * - `cleanup()`: closes whatever is open and removes the backing database.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../contract/errors.js';
import type { WorkspaceRecord } from './store.js';
import { layerContractTests } from './contract-layers.js';
import { usageContractTests } from './contract-usage.js';
import { namespaceContractTests } from './contract-namespaces.js';
import { quotaContractTests } from './contract-quotas.js';
import { nodeContractTests } from './contract-nodes.js';
import { sharedStateContractTests } from './contract-shared-state.js';
import { minimalWorkspace, sampleWorkspace, type StoreHandle } from './contract-fixtures.js';

export { minimalWorkspace, sampleWorkspace, type StoreHandle };

async function expectAppError(p: Promise<unknown>, code: string, field: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.details?.field, field);
    return true;
  });
}

export function runStoreContract(name: string, makeStore: () => Promise<StoreHandle>): void {
  /** A fresh store for one test, cleaned up even when the test fails. */
  async function fresh(t: TestContext): Promise<StoreHandle> {
    const handle = await makeStore();
    t.after(() => handle.cleanup());
    return handle;
  }

  describe(`Store contract: ${name}`, () => {
    test('round-trips full and minimal records exactly', async (t) => {
      const { store } = await fresh(t);
      const full = sampleWorkspace();
      const min = minimalWorkspace();
      await store.insertWorkspace(full);
      await store.insertWorkspace(min);
      assert.deepEqual(await store.getWorkspace(full.id), full);
      assert.deepEqual(await store.getWorkspace(min.id), min);
      assert.equal(await store.getWorkspace('ws_missing'), null);
    });

    test('returned records are copies', async (t) => {
      const { store } = await fresh(t);
      const rec = sampleWorkspace();
      await store.insertWorkspace(rec);
      const got = (await store.getWorkspace(rec.id))!;
      got.metadata.owner = 'mallory';
      got.config.env.push({ key: 'X', value: 'y' });
      assert.deepEqual(await store.getWorkspace(rec.id), rec);
    });

    test('updateWorkspace bumps version and updatedAt and returns the stored record', async (t) => {
      const { store } = await fresh(t);
      const rec = sampleWorkspace({ version: 1 });
      await store.insertWorkspace(rec);
      const before = Date.now();
      const changed = { ...rec, state: 'stopped' as const, pending: null, metadata: { a: 'b' } };
      const out = await store.updateWorkspace(changed, 1);
      assert.equal(out.version, 2);
      assert.match(out.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Date.parse(out.updatedAt) >= before - 1000);
      assert.deepEqual(out, { ...changed, version: 2, updatedAt: out.updatedAt });
      assert.deepEqual(await store.getWorkspace(rec.id), out);
    });

    test('optimistic concurrency: a stale expectedVersion is a conflict and changes nothing', async (t) => {
      const { store } = await fresh(t);
      const rec = sampleWorkspace({ version: 1 });
      await store.insertWorkspace(rec);
      const first = await store.updateWorkspace({ ...rec, state: 'stopping' }, 1);
      await expectAppError(store.updateWorkspace({ ...rec, state: 'deleting' }, 1), 'conflict', 'version');
      assert.deepEqual(await store.getWorkspace(rec.id), first);
      const second = await store.updateWorkspace({ ...first, state: 'stopped' }, first.version);
      assert.equal(second.version, 3);
    });

    test('update without expectedVersion bumps the stored version (last writer wins)', async (t) => {
      const { store } = await fresh(t);
      const rec = sampleWorkspace({ version: 5 });
      await store.insertWorkspace(rec);
      const out = await store.updateWorkspace({ ...rec, version: 1, name: 'renamed' });
      assert.equal(out.version, 6);
      assert.equal(out.name, 'renamed');
    });

    test('updating a missing workspace is not_found', async (t) => {
      const { store } = await fresh(t);
      await expectAppError(store.updateWorkspace(sampleWorkspace()), 'not_found', 'id');
      await expectAppError(store.updateWorkspace(sampleWorkspace(), 1), 'not_found', 'id');
    });

    test('unique violations map to conflict with the field name', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      await store.insertWorkspace(a);
      const cases: Array<[string, Partial<WorkspaceRecord>]> = [
        ['id', { id: a.id }],
        ['short_id', { shortId: a.shortId }],
        ['slug', { slug: a.slug }],
        ['ip', { ip: a.ip }],
        ['idempotency_key', { idempotencyKey: a.idempotencyKey }],
      ];
      for (const [field, clash] of cases) {
        await expectAppError(store.insertWorkspace(sampleWorkspace(clash)), 'conflict', field);
      }
      const b = sampleWorkspace();
      await store.insertWorkspace(b);
      await expectAppError(store.updateWorkspace({ ...b, slug: a.slug }), 'conflict', 'slug');
      await expectAppError(store.updateWorkspace({ ...b, ip: a.ip }), 'conflict', 'ip');
      assert.deepEqual(await store.getWorkspace(b.id), b);
      assert.equal((await store.allWorkspaces()).length, 2);
    });

    test('allNetworkPolicies gives id, address and policy of every workspace', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = minimalWorkspace();
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      const rows = (await store.allNetworkPolicies()).sort((x, y) => x.id.localeCompare(y.id));
      const want = [a, b].map((r) => ({ id: r.id, ip: r.ip, network: r.network })).sort((x, y) => x.id.localeCompare(y.id));
      assert.deepEqual(rows, want);
    });

    test('allReservations gives the reservation columns of every workspace, as the full records have them', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = minimalWorkspace();
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      const rows = (await store.allReservations()).sort((x, y) => x.id.localeCompare(y.id));
      const want = (await store.allWorkspaces()).map((r) => ({
        id: r.id, slug: r.slug, namespace: r.namespace, state: r.state, ip: r.ip,
        config: { cpus: r.config.cpus, memory_mb: r.config.memory_mb, disk_size_mb: r.config.disk_size_mb },
      })).sort((x, y) => x.id.localeCompare(y.id));
      assert.deepEqual(rows, want);
    });

    test('null slugs and idempotency keys do not collide', async (t) => {
      const { store } = await fresh(t);
      await store.insertWorkspace(minimalWorkspace());
      await store.insertWorkspace(minimalWorkspace());
      assert.equal((await store.allWorkspaces()).length, 2);
    });

    test('listWorkspaces pages newest first with filters and total', async (t) => {
      const { store } = await fresh(t);
      const at = (s: number) => `2026-03-01T10:00:${String(s).padStart(2, '0')}.000Z`;
      const recs = [
        sampleWorkspace({ id: 'ws_a', createdAt: at(1), mode: 'permanent', state: 'running', namespace: 'n1' }),
        sampleWorkspace({ id: 'ws_b', createdAt: at(2), mode: 'temporary', state: 'running', namespace: 'n1' }),
        sampleWorkspace({ id: 'ws_c', createdAt: at(3), mode: 'temporary', state: 'stopped', namespace: 'n2' }),
        sampleWorkspace({ id: 'ws_d', createdAt: at(4), mode: 'permanent', state: 'stopped', namespace: null }),
        sampleWorkspace({ id: 'ws_f', createdAt: at(5), mode: 'permanent', state: 'running', namespace: 'n1' }),
        sampleWorkspace({ id: 'ws_e', createdAt: at(5), mode: 'temporary', state: 'running', namespace: 'n2' }),
      ];
      for (const r of recs) await store.insertWorkspace(r);
      const ids = (r: { items: WorkspaceRecord[] }) => r.items.map((w) => w.id);

      const p1 = await store.listWorkspaces({}, { page: 1, limit: 4 });
      assert.deepEqual(ids(p1), ['ws_e', 'ws_f', 'ws_d', 'ws_c']);
      assert.equal(p1.total, 6);
      assert.deepEqual(p1.items[0], recs[5]);
      const p2 = await store.listWorkspaces({}, { page: 2, limit: 4 });
      assert.deepEqual(ids(p2), ['ws_b', 'ws_a']);
      assert.equal(p2.total, 6);
      const p3 = await store.listWorkspaces({}, { page: 3, limit: 4 });
      assert.deepEqual(ids(p3), []);
      assert.equal(p3.total, 6);

      const temp = await store.listWorkspaces({ mode: 'temporary' }, { page: 1, limit: 10 });
      assert.deepEqual(ids(temp), ['ws_e', 'ws_c', 'ws_b']);
      assert.equal(temp.total, 3);
      const n1Running = await store.listWorkspaces({ namespace: 'n1', state: 'running' }, { page: 1, limit: 1 });
      assert.deepEqual(ids(n1Running), ['ws_f']);
      assert.equal(n1Running.total, 3);
      const all3 = await store.listWorkspaces({ mode: 'temporary', state: 'stopped', namespace: 'n2' }, { page: 1, limit: 5 });
      assert.deepEqual(ids(all3), ['ws_c']);
      const none = await store.listWorkspaces({ state: 'paused' }, { page: 1, limit: 5 });
      assert.deepEqual(none, { items: [], total: 0 });
      assert.equal((await store.allWorkspaces()).length, 6);
    });

    test('findWorkspace matches id first, then slug', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace({ id: 'ws-target', slug: 'alpha' });
      const b = sampleWorkspace({ slug: 'ws-target' });
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      assert.deepEqual(await store.findWorkspace('ws-target'), a);
      assert.deepEqual(await store.findWorkspace('alpha'), a);
      assert.deepEqual(await store.findWorkspace(b.id), b);
      assert.equal(await store.findWorkspace('nope'), null);
    });

    test('findWorkspaceByIdempotencyKey', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace({ idempotencyKey: 'req-123' });
      await store.insertWorkspace(a);
      await store.insertWorkspace(minimalWorkspace());
      assert.deepEqual(await store.findWorkspaceByIdempotencyKey('req-123'), a);
      assert.equal(await store.findWorkspaceByIdempotencyKey('req-999'), null);
    });

    test('deleteWorkspace removes the row, frees its unique values and is idempotent', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      await store.insertWorkspace(a);
      await store.deleteWorkspace(a.id);
      await store.deleteWorkspace(a.id);
      assert.equal(await store.getWorkspace(a.id), null);
      const again = sampleWorkspace({ slug: a.slug, ip: a.ip, shortId: a.shortId, idempotencyKey: a.idempotencyKey });
      await store.insertWorkspace(again);
      assert.deepEqual(await store.findWorkspace(a.slug!), again);
    });

    test('api keys: put, get, count, replace', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.countApiKeys(), 0);
      assert.equal(await store.getApiKey('cli_1'), null);
      const key = { clientId: 'cli_1', secretHash: 'scrypt$00$11', scope: 'admin' as const, namespaceId: null, label: null, createdAt: '2026-01-01T00:00:00.000Z' };
      await store.putApiKey(key);
      await store.putApiKey({ ...key, clientId: 'cli_2' });
      assert.deepEqual(await store.getApiKey('cli_1'), key);
      assert.equal(await store.countApiKeys(), 2);
      await store.putApiKey({ ...key, secretHash: 'scrypt$22$33' });
      assert.equal((await store.getApiKey('cli_1'))?.secretHash, 'scrypt$22$33');
      assert.equal(await store.countApiKeys(), 2);
      await store.putApiKey({ ...key, clientId: 'cli_ns', scope: 'namespace', namespaceId: 'ns_1', label: 'team a' });
      assert.deepEqual(await store.getApiKey('cli_ns'), { ...key, clientId: 'cli_ns', scope: 'namespace', namespaceId: 'ns_1', label: 'team a' });
      assert.deepEqual((await store.allApiKeys()).map((k) => k.clientId).sort(), ['cli_1', 'cli_2', 'cli_ns']);
      assert.equal(await store.deleteApiKey('cli_ns'), true);
      assert.equal(await store.deleteApiKey('cli_ns'), false);
      assert.equal(await store.getApiKey('cli_ns'), null);
    });

    test('access tokens: live ones listed, revoked kept until expiry, expired pruned', async (t) => {
      const { store } = await fresh(t);
      const tok = (id: string, expiresAt: string) => ({
        id, scope: 'namespace' as const, namespaceId: 'ns_1', workspaceId: null, label: null, issuedBy: 'cli_1',
        createdAt: '2026-01-01T00:00:00.000Z', expiresAt, revokedAt: null,
      });
      await store.putAccessToken(tok('t_old', '2026-01-01T00:10:00.000Z'));
      await store.putAccessToken(tok('t_new', '2026-01-01T01:00:00.000Z'));
      const now = '2026-01-01T00:30:00.000Z';
      assert.deepEqual((await store.liveAccessTokens(now)).map((x) => x.id), ['t_new']);
      assert.equal(await store.revokeAccessToken('t_new', now), true);
      assert.equal(await store.revokeAccessToken('t_new', '2026-01-01T00:40:00.000Z'), true);
      assert.equal((await store.liveAccessTokens(now))[0]?.revokedAt, now, 'the first revocation time stays');
      assert.equal(await store.revokeAccessToken('t_missing', now), false);
      assert.equal(await store.pruneAccessTokens(now), 1);
      assert.deepEqual((await store.liveAccessTokens('2026-01-01T00:00:00.000Z')).map((x) => x.id), ['t_new']);
    });

    test('insertWorkspaces: all or none', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = sampleWorkspace();
      await store.insertWorkspaces([a, b]);
      assert.equal((await store.allWorkspaces()).length, 2);
      const c = sampleWorkspace();
      await assert.rejects(store.insertWorkspaces([c, { ...sampleWorkspace(), id: a.id }]));
      assert.equal(await store.getWorkspace(c.id), null, 'a failed batch leaves nothing behind');
    });

    test('settings: get, set, overwrite, empty value', async (t) => {
      const { store } = await fresh(t);
      assert.equal(await store.getSetting('k'), null);
      await store.setSetting('k', 'v1');
      await store.setSetting('k', 'v2');
      await store.setSetting('empty', '');
      assert.equal(await store.getSetting('k'), 'v2');
      assert.equal(await store.getSetting('empty'), '');
    });

    test('public ports: put, list, find by slug, replace, delete', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = sampleWorkspace();
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      const p = (ws: string, port: number, slug: string) =>
        ({ workspace_id: ws, port, slug, label: `l ${port} ✓`, domain: null, created_at: '2026-01-01T00:00:00.000Z' });
      await store.putPublicPort(p(a.id, 8080, 'aaa-one'));
      await store.putPublicPort(p(a.id, 3000, 'aaa-two'));
      await store.putPublicPort(p(b.id, 8080, 'bbb-one'));
      assert.deepEqual((await store.listPublicPorts(a.id)).map((r) => r.port), [3000, 8080]);
      assert.deepEqual(await store.findPublicPortBySlug('aaa-one'), p(a.id, 8080, 'aaa-one'));
      assert.equal(await store.findPublicPortBySlug('nope'), null);
      assert.equal((await store.allPublicPorts()).length, 3);
      // Same (workspace, port): replaced, not duplicated; the old slug is free again.
      await store.putPublicPort({ ...p(a.id, 8080, 'aaa-new'), label: 'x' });
      assert.equal(await store.findPublicPortBySlug('aaa-one'), null);
      assert.equal((await store.findPublicPortBySlug('aaa-new'))?.label, 'x');
      assert.equal((await store.listPublicPorts(a.id)).length, 2);
      assert.equal(await store.deletePublicPort(a.id, 3000), true);
      assert.equal(await store.deletePublicPort(a.id, 3000), false);
      assert.deepEqual((await store.listPublicPorts(a.id)).map((r) => r.slug), ['aaa-new']);
    });

    test('public ports: slugs are unique across workspaces; unknown workspace is not_found', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = sampleWorkspace();
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      const rec = { workspace_id: a.id, port: 80, slug: 'taken', label: '', domain: null, created_at: a.createdAt };
      await store.putPublicPort(rec);
      await assert.rejects(store.putPublicPort({ ...rec, workspace_id: b.id }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'conflict');
        assert.equal(err.details?.field, 'slug');
        return true;
      });
      await assert.rejects(store.putPublicPort({ ...rec, workspace_id: 'ws_missing', slug: 'other' }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'not_found');
        return true;
      });
    });

    test('deleting a workspace deletes its public ports', async (t) => {
      const { store } = await fresh(t);
      const a = sampleWorkspace();
      const b = sampleWorkspace();
      await store.insertWorkspace(a);
      await store.insertWorkspace(b);
      await store.putPublicPort({ workspace_id: a.id, port: 80, slug: 'gone-1', label: '', domain: null, created_at: a.createdAt });
      await store.putPublicPort({ workspace_id: b.id, port: 80, slug: 'kept-1', label: '', domain: null, created_at: b.createdAt });
      await store.deleteWorkspace(a.id);
      assert.deepEqual(await store.listPublicPorts(a.id), []);
      assert.equal(await store.findPublicPortBySlug('gone-1'), null);
      assert.deepEqual((await store.allPublicPorts()).map((r) => r.slug), ['kept-1']);
    });

    test('data persists across close and reopen; migrate twice is a no-op', async (t) => {
      const handle = await fresh(t);
      const rec = sampleWorkspace({ version: 1 });
      await handle.store.insertWorkspace(rec);
      const updated = await handle.store.updateWorkspace({ ...rec, state: 'paused' }, 1);
      await handle.store.putApiKey({ clientId: 'c', secretHash: 'h', scope: 'admin', createdAt: rec.createdAt });
      await handle.store.setSetting('jwt.fingerprint', 'abc');
      await handle.store.migrate();
      await handle.store.close();
      await handle.store.close(); // idempotent

      const reopened = await handle.reopen();
      await reopened.migrate();
      await reopened.migrate();
      assert.deepEqual(await reopened.getWorkspace(rec.id), updated);
      assert.equal((await reopened.getApiKey('c'))?.secretHash, 'h');
      assert.equal(await reopened.getSetting('jwt.fingerprint'), 'abc');
      assert.equal((await reopened.listWorkspaces({}, { page: 1, limit: 10 })).total, 1);
    });

    layerContractTests(fresh);
    usageContractTests(fresh);
    namespaceContractTests(fresh);
    quotaContractTests(fresh);
    nodeContractTests(fresh);
    sharedStateContractTests(fresh);
  });
}
