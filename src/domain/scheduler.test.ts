/** The deadline scheduler stands down when this instance stops leading, and re-arms from the store when it leads again. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LifecycleScheduler } from './scheduler.js';
import { ActivityTracker } from './activity.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { emptyLifecycleInfo, type Store } from '../store/store.js';
import type { IdleService } from './idle.js';
import type { WorkspaceService } from './workspaces.js';

test('standDown clears every timer and arms none until armAll', async () => {
  const rec = sampleWorkspace({ mode: 'temporary', pending: null, state: 'running', startedAt: new Date().toISOString(), lifecycle: emptyLifecycleInfo() });
  rec.config = { ...rec.config, ttl: 3600, ttl_action: 'stop', extra: {} };
  const store = { allWorkspaces: async () => [rec], getWorkspace: async () => rec } as unknown as Store;
  const s = new LifecycleScheduler({
    store, workspaces: {} as WorkspaceService, idle: {} as IdleService, activity: new ActivityTracker(), log: () => {},
  });
  try {
    await s.armAll();
    assert.deepEqual(s.armed(), [`${rec.id}:ttl`]);
    s.standDown();
    assert.deepEqual(s.armed(), [], 'a standby holds no deadline');
    s.refresh(rec);
    assert.deepEqual(s.armed(), [], 'record writes arm nothing on a standby');
    await s.armAll();
    assert.deepEqual(s.armed(), [`${rec.id}:ttl`], 'the new leader arms from the store');
  } finally {
    s.close();
  }
});
