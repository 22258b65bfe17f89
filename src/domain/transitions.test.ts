import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intentOf, lifecycleAfter } from './transitions.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { emptyLifecycleInfo } from '../store/store.js';

const NOW = '2026-06-01T00:00:00.000Z';

function info(count: number, next: string | null = null, asleep = false) {
  const i = emptyLifecycleInfo();
  i.restart.count = count;
  i.restart.next_restart_at = next;
  if (asleep) i.asleep = { since: NOW, state: 'paused' };
  return i;
}

test('the restart counter: a policy start counts, a user start resets, stops drop a due restart', () => {
  const policy = lifecycleAfter(info(2, NOW), 'start', 'policy', NOW);
  assert.deepEqual([policy.restart.count, policy.restart.last_restart_at, policy.restart.next_restart_at], [3, NOW, null]);
  const user = lifecycleAfter(info(2, NOW), 'start', 'user', NOW);
  assert.deepEqual([user.restart.count, user.restart.next_restart_at], [0, null]);
  assert.equal(lifecycleAfter(info(2, NOW), 'stop', 'user', NOW).restart.next_restart_at, null);
  assert.equal(lifecycleAfter(info(2, NOW), 'pause', 'user', NOW).restart.count, 2);
});

test('the sleep mark: set by the idle policy, cleared by anything else that moves the workspace', () => {
  assert.deepEqual(lifecycleAfter(info(0), 'pause', 'idle', NOW).asleep, { since: NOW, state: 'paused' });
  assert.deepEqual(lifecycleAfter(info(0), 'stop', 'idle', NOW).asleep, { since: NOW, state: 'stopped' });
  assert.equal(lifecycleAfter(info(0, null, true), 'resume', 'wake', NOW).asleep, null);
  assert.equal(lifecycleAfter(info(0, null, true), 'stop', 'user', NOW).asleep, null);
});

test('intent: pending carries the options; a user stop is remembered; a resume renews the TTL', () => {
  const rec = sampleWorkspace({ pending: null, state: 'running', userRequestedStop: false });
  const stop = intentOf(rec, 'stop', {}, 'stopping', NOW);
  assert.deepEqual(stop.pending, { op: 'stop', startedAt: NOW, from: 'running' });
  assert.equal(stop.userRequestedStop, true);
  assert.equal(intentOf(rec, 'stop', { by: 'ttl' }, 'stopping', NOW).userRequestedStop, false);
  const restore = intentOf(rec, 'restore', { source: { kind: 'snapshot', snapshotId: 's1' }, then: 'paused' }, 'restoring', NOW);
  assert.deepEqual(restore.pending, { op: 'restore', startedAt: NOW, source: { kind: 'snapshot', snapshotId: 's1' }, then: 'paused', from: 'running' });
  assert.equal(intentOf(rec, 'start', { by: 'policy' }, 'starting', NOW).pending?.automatic, true);
  assert.equal(intentOf(rec, 'start', { by: 'policy' }, 'starting', NOW).pending?.by, 'policy');
  assert.equal(intentOf({ ...rec, state: 'paused' }, 'resume', {}, 'resuming', NOW).config.extra.ttl_renewed_at, NOW);
});
