/**
 * Namespace quotas through the official library and CLI (control-plane.md §21, `/credits/*`):
 * set, list, details, reset; a used-up quota (0 credits, action block) refuses a create with
 * 402 QUOTA_EXCEEDED; default quotas set, toggled, listed and auto-applied to a namespace
 * created afterwards; bad input names its field.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { adminClient, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer();
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

const json = (out: string): any => JSON.parse(out);

test('set, list, details and reset through the library and the CLI; a used-up quota refuses a create with 402', async () => {
  const ns: any = (await client.namespaces.create({ name: 'Billing' } as any)).data;
  const set: any = await client.namespaces.setQuota({ namespace: ns.slug, service: 'workspace_vm', quotaLimit: 500, overdraft: 50, onOverdraftAction: 'stop_workspaces', notificationThresholds: [50, 80, 95] } as any);
  assert.equal(set.success, true);
  assert.deepEqual([set.data.namespace, set.data.service, set.data.quota_limit, set.data.quota_used, set.data.overdraft, set.data.on_overdraft_action],
    ['billing', 'workspace_vm', 500, 0, 50, 'stop_workspaces']);
  assert.deepEqual(set.data.notification_thresholds, [50, 80, 95]);

  assert.match(await harness.cli('ns', 'set-quota', '--namespace', ns.id, '--service', 'sandbox', '--limit', '0', '--action', 'block', '--notify-at', 'off'), /Quota set/);
  const listed: any = await client.namespaces.listWithQuotas({ search: 'billing' } as any);
  assert.equal(listed.pagination.total, 1);
  assert.deepEqual(listed.data[0].quotas.map((q: any) => [q.service, q.quota_limit, q.notification_thresholds, q.exceeded]),
    [['sandbox', 0, [], true], ['workspace_vm', 500, [50, 80, 95], false]]);
  const cliList = json(await harness.cli('ns', 'quotas', '--json'));
  assert.ok(cliList.data.some((n: any) => n.slug === 'billing' && n.active_quotas === 2));

  const refused = await api(server, 'POST', '/workspace', { image: 'debian-12', namespace: ns.slug });
  assert.equal(refused.status, 402);
  assert.equal(refused.body.code, 'QUOTA_EXCEEDED');
  assert.equal(refused.body.details.service, 'sandbox');
  assert.equal((await client.workspaces.list({ namespace: ns.slug } as any) as any).workspaces?.length ?? 0, 0);

  const details: any = await client.namespaces.getDetails(ns.slug, { days: 7 } as any);
  assert.equal(details.data.id, ns.id);
  assert.equal(details.data.quotas.length, 2);
  assert.equal(details.data.usage.days, 7);
  assert.equal(json(await harness.cli('ns', 'details', ns.slug, '--days', '3', '--json')).data.usage.days, 3);

  const reset: any = await client.namespaces.resetQuota({ namespace: ns.slug, service: 'workspace_vm' } as any);
  assert.equal(reset.data.quota_used, 0);
  assert.ok(reset.data.usage_since >= set.data.usage_since);
  assert.match(await harness.cli('ns', 'reset-quota', '--namespace', ns.slug, '--service', 'sandbox'), /reset/);
  const activity: any = await client.namespaces.activity(ns.id, { limit: 10 } as any);
  assert.ok(activity.data.some((e: any) => e.action === 'quota_reset'));

  // Raising the limits: nothing is used up any more.
  await client.namespaces.setQuota({ namespace: ns.slug, service: 'sandbox', quotaLimit: 1000 } as any);
  await client.namespaces.setQuota({ namespace: ns.slug, service: 'workspace_vm', quotaLimit: 1000 } as any);
  const listedAgain: any = await client.namespaces.listWithQuotas({ search: 'billing' } as any);
  assert.deepEqual(listedAgain.data[0].quotas.map((q: any) => q.exceeded), [false, false]);
  await client.namespaces.delete(ns.id);
});

test('default quotas: set, get, list, toggle, auto-applied to a new namespace, deleted', async () => {
  const set: any = await client.namespaces.setDefaultQuota({ service: 'workspace_vm', quotaLimit: 100, autoApply: true } as any);
  assert.deepEqual([set.data.level, set.data.service, set.data.quota_limit, set.data.auto_apply, set.data.enabled], ['namespace', 'workspace_vm', 100, true, true]);
  assert.match(await harness.cli('ns', 'set-default-quota', '--service', 'sandbox', '--limit', '7'), /Default quota set/);
  const got: any = await client.namespaces.getDefaultQuota('sandbox');
  assert.deepEqual([got.data.quota_limit, got.data.auto_apply], [7, false]);
  assert.equal(json(await harness.cli('ns', 'get-default-quota', 'sandbox', '--json')).data.quota_limit, 7);
  const all = json(await harness.cli('ns', 'default-quotas', '--json'));
  assert.deepEqual(all.data.map((d: any) => d.service), ['sandbox', 'workspace_vm']);

  const fresh: any = (await client.namespaces.create({ name: 'New Tenant' } as any)).data;
  let quotas: any = (await client.namespaces.getDetails(fresh.id) as any).data.quotas;
  assert.deepEqual(quotas.map((q: any) => [q.service, q.quota_limit]), [['workspace_vm', 100]]);

  const toggled: any = await client.namespaces.toggleDefaultQuotaAutoApply('sandbox', true);
  assert.equal(toggled.data.auto_apply, true);
  const later: any = (await client.namespaces.create({ name: 'Later Tenant' } as any)).data;
  quotas = (await client.namespaces.getDetails(later.slug) as any).data.quotas;
  assert.deepEqual(quotas.map((q: any) => [q.service, q.quota_limit]), [['sandbox', 7], ['workspace_vm', 100]]);

  await client.namespaces.deleteDefaultQuota('sandbox');
  await client.namespaces.deleteDefaultQuota('workspace_vm');
  assert.equal((await client.namespaces.getDefaultQuota('sandbox') as any).data, null);
  assert.equal((await api(server, 'DELETE', '/credits/defaults', { level: 'namespace', service: 'sandbox' })).status, 404);
  const none: any = (await client.namespaces.create({ name: 'Plain Tenant' } as any)).data;
  assert.deepEqual((await client.namespaces.getDetails(none.id) as any).data.quotas, []);
  for (const n of [fresh, later, none]) await client.namespaces.delete(n.id);
});

test('bad input names its field; unknown namespaces are 404', async () => {
  const ns: any = (await client.namespaces.create({ name: 'Strict' } as any)).data;
  const cases: Array<[string, string, unknown, string]> = [
    ['POST', '/credits/namespace-quota', { namespace: ns.slug, service: 'gpu', quotaLimit: 1 }, 'service'],
    ['POST', '/credits/namespace-quota', { namespace: ns.slug, service: 'sandbox', quotaLimit: -1 }, 'quotaLimit'],
    ['POST', '/credits/namespace-quota', { namespace: ns.slug, service: 'sandbox', quotaLimit: 1, overdraft: 'x' }, 'overdraft'],
    ['POST', '/credits/namespace-quota', { namespace: ns.slug, service: 'sandbox', quotaLimit: 1, onOverdraftAction: 'delete' }, 'onOverdraftAction'],
    ['POST', '/credits/namespace-quota', { namespace: ns.slug, service: 'sandbox', quotaLimit: 1, notificationThresholds: [0, 120] }, 'notificationThresholds'],
    ['POST', '/credits/defaults', { level: 'org', service: 'sandbox', quotaLimit: 1 }, 'level'],
    ['POST', '/credits/defaults/toggle-auto-apply', { level: 'namespace', service: 'sandbox', autoApply: 'maybe' }, 'autoApply'],
    ['GET', '/credits/defaults/all?level=org', undefined, 'level'],
  ];
  for (const [method, path, body, field] of cases) {
    const res = await api(server, method, path, body);
    assert.equal(res.status, 422, `${path} ${field}`);
    assert.equal(res.body.details.field, field);
  }
  const missing = await api(server, 'POST', '/credits/namespace-quota', { namespace: 'no-such-ns', service: 'sandbox', quotaLimit: 1 });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.details.field, 'namespace');
  assert.equal((await api(server, 'GET', '/credits/namespaces/no-such-ns')).status, 404);
  assert.equal((await api(server, 'POST', '/credits/reset-quota', { namespace: ns.slug, service: 'sandbox' })).status, 404);
  await client.namespaces.delete(ns.id);
});
