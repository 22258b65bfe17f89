/**
 * Store contract, namespaces (control-plane.md §21): registered by runStoreContract inside
 * its describe block, against the same fresh stores.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { NamespaceRecord } from './store.js';
import type { StoreHandle } from './contract-fixtures.js';

function ns(id: string, slug: string, over: Partial<NamespaceRecord> = {}): NamespaceRecord {
  return {
    id, slug, name: `Name ${slug}`, description: null, status: 'active', type: 'development', is_default: false,
    metadata: { team: 'ü "q"' }, tags: ['a', 'b'], resource_limits: { max_workspaces: 3, max_vcpus: null, max_ram_mb: 2048, max_disk_gb: null },
    created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', last_active_at: null, ...over,
  };
}

export function namespaceContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('namespaces: round trip, find by id or slug, slug unique, one default, delete', async (t) => {
    const { store } = await fresh(t);
    await store.putNamespace(ns('ns_a', 'alpha'));
    await store.putNamespace(ns('ns_b', 'beta', { is_default: true, resource_limits: null }));
    assert.deepEqual(await store.findNamespace('ns_a'), ns('ns_a', 'alpha'));
    assert.deepEqual((await store.findNamespace('beta'))?.id, 'ns_b');
    assert.equal(await store.findNamespace('nope'), null);
    await assert.rejects(store.putNamespace(ns('ns_c', 'alpha')), (e: any) => e.code === 'conflict' && e.details.field === 'slug');
    await store.putNamespace(ns('ns_a', 'alpha', { is_default: true }));
    assert.deepEqual((await store.allNamespaces()).map((n) => [n.id, n.is_default]), [['ns_a', true], ['ns_b', false]]);
    assert.equal(await store.deleteNamespace('ns_a'), true);
    assert.equal(await store.deleteNamespace('ns_a'), false);
    assert.deepEqual((await store.allNamespaces()).map((n) => n.id), ['ns_b']);
  });

  test('namespace activity: newest first, paged, kept after the namespace goes', async (t) => {
    const { store } = await fresh(t);
    for (let i = 0; i < 5; i++) {
      await store.addNamespaceActivity({ namespace_id: 'ns_a', action: `a${i}`, description: null, changes: i ? { i } : null, created_at: `2026-01-0${i + 1}T00:00:00.000Z` });
    }
    await store.addNamespaceActivity({ namespace_id: 'ns_b', action: 'other', description: 'x', changes: null, created_at: '2026-02-01T00:00:00.000Z' });
    const page = await store.listNamespaceActivity('ns_a', 2, 1);
    assert.deepEqual(page.map((e) => [e.action, e.changes]), [['a3', { i: 3 }], ['a2', { i: 2 }]]);
    await store.deleteNamespace('ns_a');
    assert.equal((await store.listNamespaceActivity('ns_a', 10, 0)).length, 5);
  });
}
