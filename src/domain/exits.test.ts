import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideExit } from './exits.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { emptyLifecycleInfo, type WorkspaceRecord } from '../store/store.js';

const backoff = { baseMs: 500, maxMs: 4000 };

function ws(policy: WorkspaceRecord['config']['restart_policy'], max: number, count = 0): WorkspaceRecord {
  const base = sampleWorkspace();
  const lifecycle = emptyLifecycleInfo();
  lifecycle.restart.count = count;
  return { ...base, lifecycle, config: { ...base.config, restart_policy: policy, max_restarts: max } };
}

test('no: never restarted', () => {
  assert.deepEqual(decideExit(ws('no', 0), { reason: 'exited', exitCode: 1 }, 0, backoff), { kind: 'stop' });
});

test('on-failure: restarted on a non-zero exit or an OOM kill, not on a clean exit', () => {
  assert.deepEqual(decideExit(ws('on-failure', 0), { reason: 'exited', exitCode: 3 }, 1000, backoff), { kind: 'restart', at: 1500 });
  assert.deepEqual(decideExit(ws('on-failure', 0), { reason: 'oom', exitCode: 137 }, 0, backoff).kind, 'restart');
  assert.deepEqual(decideExit(ws('on-failure', 0), { reason: 'exited', exitCode: 0 }, 0, backoff), { kind: 'stop' });
  assert.equal(decideExit(ws('on-failure', 0), { reason: 'exited' }, 0, backoff).kind, 'restart', 'an unknown status counts as a failure');
});

test('always: restarted on any exit; max_restarts bounds the count (0 = no bound)', () => {
  assert.equal(decideExit(ws('always', 3, 2), { reason: 'exited', exitCode: 0 }, 0, backoff).kind, 'restart');
  assert.deepEqual(decideExit(ws('always', 3, 3), { reason: 'exited', exitCode: 0 }, 0, backoff), { kind: 'stop' });
  assert.equal(decideExit(ws('always', 0, 1000), { reason: 'exited', exitCode: 0 }, 0, backoff).kind, 'restart');
});

test('backoff doubles per restart and is capped', () => {
  const at = (count: number) => (decideExit(ws('always', 0, count), { exitCode: 1 }, 0, backoff) as { at: number }).at;
  assert.deepEqual([0, 1, 2, 3, 4, 10].map(at), [500, 1000, 2000, 4000, 4000, 4000]);
});
