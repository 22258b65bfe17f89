/**
 * Store contract, namespace quotas and default quotas (control-plane.md §21): registered
 * by runStoreContract inside its describe block, against the same fresh stores.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './store.js';
import type { StoreHandle } from './contract-fixtures.js';

const T = '2026-01-01T00:00:00.000Z';

function quota(ns: string, service: string, over: Partial<NamespaceQuotaRecord> = {}): NamespaceQuotaRecord {
  return {
    namespace_id: ns, service, quota_limit: 12.5, quota_used: 0.25, overdraft: 2, on_overdraft_action: 'block',
    notification_thresholds: [50, 80], last_threshold_fired: null, enabled: true, usage_since: T, created_at: T, updated_at: T, ...over,
  };
}

function def(service: string, over: Partial<DefaultQuotaRecord> = {}): DefaultQuotaRecord {
  return { level: 'namespace', service, quota_limit: 100, overdraft: 0, on_overdraft_action: 'stop_workspaces', auto_apply: true, enabled: true, created_at: T, updated_at: T, ...over };
}

export function quotaContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('namespace quotas: round trip, replace by key, list per namespace, delete with the namespace', async (t) => {
    const { store } = await fresh(t);
    await store.putNamespaceQuota(quota('ns_a', 'workspace_vm'));
    await store.putNamespaceQuota(quota('ns_a', 'sandbox', { notification_thresholds: null, last_threshold_fired: 80, enabled: false }));
    await store.putNamespaceQuota(quota('ns_b', 'sandbox', { notification_thresholds: [] }));
    assert.deepEqual(await store.getNamespaceQuota('ns_a', 'workspace_vm'), quota('ns_a', 'workspace_vm'));
    assert.equal(await store.getNamespaceQuota('ns_a', 'nope'), null);
    await store.putNamespaceQuota(quota('ns_a', 'workspace_vm', { quota_limit: 0, on_overdraft_action: 'stop_workspaces' }));
    assert.equal((await store.getNamespaceQuota('ns_a', 'workspace_vm'))?.on_overdraft_action, 'stop_workspaces');
    assert.deepEqual((await store.listNamespaceQuotas('ns_a')).map((q) => [q.service, q.quota_limit, q.notification_thresholds, q.enabled]),
      [['sandbox', 12.5, null, false], ['workspace_vm', 0, [50, 80], true]]);
    assert.deepEqual((await store.listNamespaceQuotas()).map((q) => `${q.namespace_id}/${q.service}`), ['ns_a/sandbox', 'ns_a/workspace_vm', 'ns_b/sandbox']);
    assert.deepEqual((await store.getNamespaceQuota('ns_b', 'sandbox'))?.notification_thresholds, []);
    assert.equal(await store.deleteNamespaceQuotas('ns_a'), 2);
    assert.deepEqual((await store.listNamespaceQuotas()).map((q) => q.namespace_id), ['ns_b']);
  });

  test('default quotas: by level and service, replace, list, delete', async (t) => {
    const { store } = await fresh(t);
    await store.putDefaultQuota(def('workspace_vm'));
    await store.putDefaultQuota(def('sandbox', { auto_apply: false, overdraft: 1.5 }));
    assert.deepEqual(await store.getDefaultQuota('namespace', 'workspace_vm'), def('workspace_vm'));
    assert.equal(await store.getDefaultQuota('namespace', 'nope'), null);
    await store.putDefaultQuota(def('workspace_vm', { auto_apply: false }));
    assert.deepEqual((await store.listDefaultQuotas('namespace')).map((d) => [d.service, d.auto_apply, d.overdraft]),
      [['sandbox', false, 1.5], ['workspace_vm', false, 0]]);
    assert.deepEqual(await store.listDefaultQuotas('other'), []);
    assert.equal(await store.deleteDefaultQuota('namespace', 'sandbox'), true);
    assert.equal(await store.deleteDefaultQuota('namespace', 'sandbox'), false);
    assert.equal((await store.listDefaultQuotas('namespace')).length, 1);
  });
}
