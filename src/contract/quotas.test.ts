import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from './errors.js';
import { parseDefaultKey, parseDefaultLevel, parseQuotaKey, parseSetDefaultQuota, parseSetQuota, parseToggleAutoApply } from './quotas.js';

function rejects(fn: () => unknown, field: string) {
  assert.throws(fn, (err: unknown) => err instanceof AppError && err.code === 'validation_error' && err.details?.field === field && err.status === 422);
}

test('set quota: camelCase body, optional fields only when given, thresholds sorted and deduplicated', () => {
  assert.deepEqual(parseSetQuota({ namespace: 'prod', service: 'workspace_vm', quotaLimit: 500 }), { namespace: 'prod', service: 'workspace_vm', quotaLimit: 500 });
  assert.deepEqual(parseSetQuota({
    namespace: 'ns_1', service: 'sandbox', quotaLimit: '0', overdraft: 2.5, onOverdraftAction: 'stop_workspaces', notificationThresholds: [95, 50, 50], enabled: 'false',
  }), { namespace: 'ns_1', service: 'sandbox', quotaLimit: 0, overdraft: 2.5, onOverdraftAction: 'stop_workspaces', notificationThresholds: [50, 95], enabled: false });
  assert.equal(parseSetQuota({ namespace: 'p', service: 'sandbox', quotaLimit: 1, notificationThresholds: null }).notificationThresholds, null);
  assert.deepEqual(parseSetQuota({ namespace: 'p', service: 'sandbox', quotaLimit: 1, notificationThresholds: [] }).notificationThresholds, []);
});

test('set quota: every refusal names its field', () => {
  const base = { namespace: 'p', service: 'workspace_vm', quotaLimit: 1 };
  rejects(() => parseSetQuota(null), 'body');
  rejects(() => parseSetQuota([]), 'body');
  rejects(() => parseSetQuota({ ...base, namespace: '' }), 'namespace');
  rejects(() => parseSetQuota({ ...base, namespace: undefined }), 'namespace');
  rejects(() => parseSetQuota({ ...base, service: 'gpu' }), 'service');
  rejects(() => parseSetQuota({ ...base, quotaLimit: -1 }), 'quotaLimit');
  rejects(() => parseSetQuota({ ...base, quotaLimit: null }), 'quotaLimit'); // the CLI's Number(undefined) = NaN travels as null
  rejects(() => parseSetQuota({ ...base, quotaLimit: 'lots' }), 'quotaLimit');
  rejects(() => parseSetQuota({ ...base, overdraft: -0.5 }), 'overdraft');
  rejects(() => parseSetQuota({ ...base, onOverdraftAction: 'delete' }), 'onOverdraftAction');
  rejects(() => parseSetQuota({ ...base, notificationThresholds: [0] }), 'notificationThresholds');
  rejects(() => parseSetQuota({ ...base, notificationThresholds: [101] }), 'notificationThresholds');
  rejects(() => parseSetQuota({ ...base, notificationThresholds: '80' }), 'notificationThresholds');
  rejects(() => parseSetQuota({ ...base, enabled: 'yes' }), 'enabled');
});

test('reset and default quota bodies: level must be "namespace"', () => {
  assert.deepEqual(parseQuotaKey({ namespace: 'p', service: 'sandbox' }), { namespace: 'p', service: 'sandbox' });
  rejects(() => parseQuotaKey({ namespace: 'p' }), 'service');
  assert.deepEqual(parseSetDefaultQuota({ level: 'namespace', service: 'workspace_vm', quotaLimit: 100, autoApply: true }),
    { service: 'workspace_vm', quotaLimit: 100, autoApply: true });
  rejects(() => parseSetDefaultQuota({ level: 'org', service: 'workspace_vm', quotaLimit: 1 }), 'level');
  rejects(() => parseSetDefaultQuota({ service: 'workspace_vm', quotaLimit: 1 }), 'level');
  rejects(() => parseSetDefaultQuota({ level: 'namespace', service: 'workspace_vm', quotaLimit: 1, autoApply: 1 }), 'autoApply');
  assert.equal(parseDefaultKey({ level: 'namespace', service: 'sandbox' }), 'sandbox');
  rejects(() => parseDefaultKey({ level: 'namespace' }), 'service');
  assert.equal(parseDefaultLevel({}), 'namespace');
  rejects(() => parseDefaultLevel({ level: 'x' }), 'level');
  assert.deepEqual(parseToggleAutoApply({ level: 'namespace', service: 'sandbox', autoApply: false }), { service: 'sandbox', autoApply: false });
  rejects(() => parseToggleAutoApply({ level: 'namespace', service: 'sandbox' }), 'autoApply');
});
