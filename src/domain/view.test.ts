import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisioningView } from './view.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';

test('a create that failed shows provisioning failed whatever its code, so the SDK stops waiting', () => {
  for (const code of ['CREATE_FAILED', 'VM_UNAVAILABLE']) {
    const rec = { ...sampleWorkspace(), state: 'failed' as const, startedAt: null, error: { code, message: 'x' } };
    const view = provisioningView(rec);
    assert.equal(view?.state, 'failed', code);
    assert.deepEqual(view?.error, { code, message: 'x' });
  }
});

test('a workspace that ran and then failed, or runs, shows no provisioning', () => {
  const ran = { ...sampleWorkspace(), state: 'failed' as const, startedAt: '2026-01-01T00:00:00.000Z', error: { code: 'VM_UNAVAILABLE', message: 'x' } };
  assert.equal(provisioningView(ran), null);
  assert.equal(provisioningView({ ...sampleWorkspace(), state: 'running' as const, error: null }), null);
});
