import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTransition, requireLayerState, TRANSITIONS, type PowerAction } from './lifecycle.js';
import { AppError } from '../contract/errors.js';
import type { LifecycleState } from '../store/store.js';

const ALL: LifecycleState[] = ['creating', 'starting', 'running', 'pausing', 'paused', 'resuming',
  'stopping', 'stopped', 'restarting', 'restoring', 'destroying', 'archived', 'deleting', 'failed'];

test('every legal transition goes through its recorded transitional state', () => {
  assert.deepEqual(planTransition('stopped', 'start'), { kind: 'go', via: 'starting', to: 'running' });
  assert.deepEqual(planTransition('running', 'pause'), { kind: 'go', via: 'pausing', to: 'paused' });
  assert.deepEqual(planTransition('paused', 'resume'), { kind: 'go', via: 'resuming', to: 'running' });
  assert.deepEqual(planTransition('running', 'delete'), { kind: 'go', via: 'deleting', to: null });
});

test('repeating a satisfied action is a no-op, not an error', () => {
  assert.deepEqual(planTransition('stopped', 'stop'), { kind: 'noop' });
  assert.deepEqual(planTransition('running', 'start'), { kind: 'noop' });
  assert.deepEqual(planTransition('paused', 'pause'), { kind: 'noop' });
});

test('illegal transitions are 409 invalid_state with the current state', () => {
  for (const action of Object.keys(TRANSITIONS) as PowerAction[]) {
    const t = TRANSITIONS[action];
    for (const s of ALL) {
      if (t.from.includes(s) || t.noop.includes(s)) continue;
      assert.throws(() => planTransition(s, action), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'invalid_state');
        assert.equal(err.status, 409);
        assert.equal(err.details?.current_state, s);
        return true;
      });
    }
  }
});

test('transitional states block every action but delete of a creating workspace', () => {
  assert.throws(() => planTransition('starting', 'stop'));
  assert.throws(() => planTransition('deleting', 'delete'));
  assert.equal(planTransition('creating', 'delete').kind, 'go');
  assert.throws(() => planTransition('paused', 'start'));
});

test('archived: only start (re-create) and delete leave it; destroy is a no-op there', () => {
  assert.deepEqual(planTransition('archived', 'start'), { kind: 'go', via: 'starting', to: 'running' });
  assert.deepEqual(planTransition('archived', 'destroy'), { kind: 'noop' });
  assert.equal(planTransition('archived', 'delete').kind, 'go');
  for (const a of ['stop', 'restart', 'pause', 'resume', 'restore'] as PowerAction[]) {
    assert.throws(() => planTransition('archived', a));
  }
  assert.deepEqual(planTransition('running', 'destroy'), { kind: 'go', via: 'destroying', to: 'archived' });
  assert.deepEqual(planTransition('paused', 'restore'), { kind: 'go', via: 'restoring', to: null });
});

test('layer actions need a layer: running, paused or stopped', () => {
  for (const s of ALL) {
    const ok = ['running', 'paused', 'stopped'].includes(s);
    if (ok) requireLayerState(s, 'snapshot');
    else assert.throws(() => requireLayerState(s, 'fork'), (e: unknown) => e instanceof AppError && e.code === 'invalid_state');
  }
});
