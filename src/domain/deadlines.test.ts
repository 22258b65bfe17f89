import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadlinesOf, Timers } from './deadlines.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { emptyLifecycleInfo, type WorkspaceRecord } from '../store/store.js';

const T0 = Date.parse('2026-06-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const quiet = { busy: false, sinceMs: T0 };

function ws(over: Partial<WorkspaceRecord> = {}, config: Partial<WorkspaceRecord['config']> = {}): WorkspaceRecord {
  const base = sampleWorkspace({ pending: null, state: 'running', startedAt: iso(T0), lifecycle: emptyLifecycleInfo(), ...over });
  return { ...base, config: { ...base.config, ttl: null, extra: {}, ...config } };
}

test('ttl: from the start or the latest renewal; paused counts only when the action stops or removes', () => {
  const temp = ws({ mode: 'temporary' }, { ttl: 60, ttl_action: 'stop' });
  assert.deepEqual(deadlinesOf(temp, quiet), [{ kind: 'ttl', at: T0 + 60_000 }]);
  const renewed = ws({ mode: 'temporary' }, { ttl: 60, ttl_action: 'stop', extra: { ttl_renewed_at: iso(T0 + 30_000) } });
  assert.deepEqual(deadlinesOf(renewed, quiet), [{ kind: 'ttl', at: T0 + 90_000 }]);
  assert.deepEqual(deadlinesOf({ ...temp, state: 'paused' }, quiet), [{ kind: 'ttl', at: T0 + 60_000 }]);
  const pauser = ws({ mode: 'temporary', state: 'paused' }, { ttl: 60, ttl_action: 'pause' });
  assert.deepEqual(deadlinesOf(pauser, quiet), []);
  assert.deepEqual(deadlinesOf(ws({ mode: 'permanent' }, { ttl: 60 }), quiet), [], 'a permanent workspace has no TTL');
  assert.deepEqual(deadlinesOf({ ...temp, state: 'stopped', startedAt: null }, quiet), []);
  assert.deepEqual(deadlinesOf({ ...temp, pending: { op: 'stop', startedAt: iso(T0) } }, quiet), [], 'nothing while an operation runs');
});

test('restart: due at the stored time while stopped', () => {
  const info = emptyLifecycleInfo();
  info.restart.next_restart_at = iso(T0 + 500);
  assert.deepEqual(deadlinesOf(ws({ state: 'stopped', lifecycle: info }), quiet), [{ kind: 'restart', at: T0 + 500 }]);
  assert.deepEqual(deadlinesOf(ws({ state: 'running', lifecycle: info }), quiet), []);
});

test('idle: suspend after the last activity unless busy; stop after stop_after asleep', () => {
  const idle = { idle: { suspend_after: 120, stop_after: 3600 } };
  const running = ws({}, { extra: idle });
  assert.deepEqual(deadlinesOf(running, quiet), [{ kind: 'idle-suspend', at: T0 + 120_000 }]);
  assert.deepEqual(deadlinesOf(running, { ...quiet, lastMs: T0 + 5000 }), [{ kind: 'idle-suspend', at: T0 + 125_000 }]);
  assert.deepEqual(deadlinesOf(running, { ...quiet, busy: true }), []);
  assert.deepEqual(deadlinesOf(running, { busy: false, sinceMs: T0 + 9000 }), [{ kind: 'idle-suspend', at: T0 + 129_000 }],
    'after a restart the idle clock starts at the restart');
  const asleep = emptyLifecycleInfo();
  asleep.asleep = { since: iso(T0 + 1000), state: 'paused' };
  assert.deepEqual(deadlinesOf(ws({ state: 'paused', lifecycle: asleep }, { extra: idle }), quiet),
    [{ kind: 'idle-stop', at: T0 + 1000 + 3_600_000 }]);
  assert.deepEqual(deadlinesOf(ws({ state: 'paused' }, { extra: idle }), quiet), [], 'paused by a user: no idle stop');
  assert.deepEqual(deadlinesOf(ws({ mode: 'temporary' }, { extra: idle }), quiet), [], 'idle is for permanent workspaces');
});

test('Timers: one per key, replaced on set, fired once', async () => {
  const t = new Timers();
  const fired: string[] = [];
  t.set('a', Date.now() + 30, () => fired.push('a1'));
  t.set('a', Date.now() + 10, () => fired.push('a2'));
  t.set('b', Date.now() - 1000, () => fired.push('b'));
  t.set('c', Date.now() + 10, () => fired.push('c'));
  t.clear('c');
  assert.deepEqual(t.keys().sort(), ['a', 'b']);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(fired.sort(), ['a2', 'b']);
  assert.deepEqual(t.keys(), []);
  t.clearAll();
});
