import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { openStore } from '../store/open.js';
import type { NamespaceRecord, Store } from '../store/store.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { NamespaceQuotas, thresholdReached } from './namespace-quotas.js';
import { DEFAULT_PRICES } from './pricing.js';

async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'warren-quotas-'));
  const store: Store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const now = new Date().toISOString();
  const ns: NamespaceRecord = {
    id: 'ns_q1', slug: 'team', name: 'Team', description: null, status: 'active', type: 'default', is_default: false, metadata: {},
    tags: [], resource_limits: null, created_at: now, updated_at: now, last_active_at: null,
  };
  await store.putNamespace(ns);
  await store.insertWorkspace(sampleWorkspace({ id: 'ws_in', namespace: 'team', state: 'running', pending: null }));
  await store.insertWorkspace(sampleWorkspace({ id: 'ws_out', namespace: null, state: 'running', pending: null }));
  const stopped: string[] = [];
  const quotas = new NamespaceQuotas({ store, prices: () => ({ ...DEFAULT_PRICES }), stopWorkspace: async (id) => { stopped.push(id); } });
  return { store, ns, quotas, stopped };
}

/** `hours` vCPU-hours (= credits at the default prices) in a bucket a few minutes ahead, so after any baseline. */
async function spend(store: Store, id: string, hours: number, minutesAhead = 2): Promise<void> {
  const bucket = new Date(Math.floor(Date.now() / 60_000) * 60_000 + minutesAhead * 60_000).toISOString();
  await store.recordUsage([{ workspace_id: id, bucket_start: bucket, cpu_seconds: hours * 3600, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 }], []);
}

test('used = credits of the namespace\'s workspaces since the set; limit + overdraft refuses with 402; reset counts again', async (t) => {
  const { store, ns, quotas } = await setup(t);
  await spend(store, 'ws_in', 100, -1); // a bucket before the set never counts
  const { quota } = await quotas.set({ namespace: 'team', service: 'workspace_vm', quotaLimit: 3, overdraft: 1 });
  assert.equal(quota.quota_used, 0);
  assert.equal(quota.on_overdraft_action, 'block');
  await spend(store, 'ws_in', 2);
  await spend(store, 'ws_out', 50); // another namespace's workspace never counts
  await quotas.admit(ns);
  await spend(store, 'ws_in', 2, 3);
  await assert.rejects(quotas.admit(ns), (e: unknown) => e instanceof AppError && e.code === 'QUOTA_EXCEEDED' && e.status === 402
    && e.details?.field === 'namespace' && e.details?.service === 'workspace_vm' && e.details?.quota_used === 4);
  assert.equal((await store.getNamespaceQuota(ns.id, 'workspace_vm'))?.quota_used, 4);
  const before = (await quotas.set({ namespace: ns.id, service: 'workspace_vm', quotaLimit: 10 })).quota;
  assert.equal(before.overdraft, 1, 'an update keeps what it does not name');
  assert.equal(before.usage_since, quota.usage_since, 'an update is not a reset');
  await quotas.set({ namespace: 'team', service: 'workspace_vm', quotaLimit: 3 });
  const { quota: reset } = await quotas.reset('team', 'workspace_vm');
  assert.equal(reset.quota_used, 0);
  assert.ok(reset.usage_since > quota.usage_since);
  await assert.rejects(quotas.reset('team', 'sandbox'), (e: unknown) => e instanceof AppError && e.code === 'not_found' && e.details?.field === 'service');
  await assert.rejects(quotas.set({ namespace: 'nope', service: 'sandbox', quotaLimit: 1 }), (e: unknown) => e instanceof AppError && e.details?.field === 'namespace');
});

test('disabled quotas never refuse; a quota of 0 refuses at once', async (t) => {
  const { ns, quotas } = await setup(t);
  await quotas.set({ namespace: 'team', service: 'sandbox', quotaLimit: 0, enabled: false });
  await quotas.admit(ns);
  await quotas.set({ namespace: 'team', service: 'sandbox', quotaLimit: 0, enabled: true });
  await assert.rejects(quotas.admit(ns), (e: unknown) => e instanceof AppError && e.code === 'QUOTA_EXCEEDED');
});

test('enforce: thresholds fire once each into the activity; stop_workspaces stops live members only', async (t) => {
  const { store, ns, quotas, stopped } = await setup(t);
  await quotas.set({ namespace: 'team', service: 'workspace_vm', quotaLimit: 10, onOverdraftAction: 'stop_workspaces', notificationThresholds: [50, 90] });
  await spend(store, 'ws_in', 6);
  assert.deepEqual(await quotas.enforce(), { stopped: [] });
  await quotas.enforce();
  const fired = () => store.listNamespaceActivity(ns.id, 20, 0).then((a) => a.filter((e) => e.action === 'quota_threshold').map((e) => e.changes?.threshold));
  assert.deepEqual(await fired(), [50]);
  await spend(store, 'ws_in', 5, 3);
  assert.deepEqual(await quotas.enforce(), { stopped: ['ws_in'] });
  assert.deepEqual(stopped, ['ws_in']);
  assert.deepEqual(await fired(), [90, 50]);
  assert.equal((await store.getNamespaceQuota(ns.id, 'workspace_vm'))?.last_threshold_fired, 90);
  assert.equal(thresholdReached({ ...(await store.getNamespaceQuota(ns.id, 'workspace_vm'))!, notification_thresholds: null }, 8.5), 80);
  assert.equal(thresholdReached({ ...(await store.getNamespaceQuota(ns.id, 'workspace_vm'))!, notification_thresholds: [] }, 100), null);
});

test('default quotas: set, toggle, auto-applied to a new namespace once, deleted; quotas go with their namespace', async (t) => {
  const { store, ns, quotas } = await setup(t);
  await quotas.setDefault({ service: 'workspace_vm', quotaLimit: 25, overdraft: 5 });
  await quotas.setDefault({ service: 'sandbox', quotaLimit: 7, autoApply: true });
  assert.equal((await quotas.toggleAutoApply('workspace_vm', true)).auto_apply, true);
  await quotas.applyDefaults(ns);
  await quotas.applyDefaults(ns);
  assert.deepEqual((await store.listNamespaceQuotas(ns.id)).map((q) => [q.service, q.quota_limit, q.overdraft]), [['sandbox', 7, 0], ['workspace_vm', 25, 5]]);
  await quotas.deleteDefault('sandbox');
  await assert.rejects(quotas.deleteDefault('sandbox'), (e: unknown) => e instanceof AppError && e.code === 'not_found');
  assert.equal(await quotas.getDefault('sandbox'), null);
  assert.deepEqual((await quotas.allDefaults()).map((d) => d.service), ['workspace_vm']);
  await quotas.forget(ns);
  assert.deepEqual(await store.listNamespaceQuotas(ns.id), []);
});

test('list and details: quotas, spending, a daily timeline', async (t) => {
  const { store, quotas } = await setup(t);
  await quotas.set({ namespace: 'team', service: 'workspace_vm', quotaLimit: 10 });
  await spend(store, 'ws_in', 1.5, -1); // before the quota: spent, not counted by it
  await spend(store, 'ws_in', 1, 2);
  const list = await quotas.listWithQuotas({ limit: 10, offset: 0, status: null, search: 'tea' });
  assert.equal(list.total, 1);
  assert.equal(list.items[0]!.total_spent, 2.5);
  assert.equal(list.items[0]!.quotas[0]!.quota_used, 1);
  const d = await quotas.details('team', 7); // up to now: the bucket ahead is not in the range yet
  assert.equal((d.usage.credits as { total: number }).total, 1.5);
  assert.equal((d.usage.timeline as unknown[]).length, 1);
  assert.equal((await quotas.listWithQuotas({ limit: 10, offset: 0, status: 'suspended', search: null })).total, 0);
});
