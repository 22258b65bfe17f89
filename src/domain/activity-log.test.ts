import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { openStore } from '../store/open.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { ActivityLog, activityFor, activityView } from './activity-log.js';
import { runPending, type OperationEvent } from './operations.js';
import type { Orchestrator } from './orchestrator.js';
import { intentOf } from './transitions.js';

const NOW = '2026-05-01T10:00:00.000Z';

async function tempStore(t: TestContext): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-activity-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

function intent(rec: WorkspaceRecord, action: Parameters<typeof intentOf>[1], by?: 'ttl' | 'policy' | 'idle' | 'wake'): WorkspaceRecord {
  const via = { start: 'starting', stop: 'stopping', pause: 'pausing', resume: 'resuming', restart: 'restarting', delete: 'deleting' } as const;
  return intentOf(rec, action, { by }, via[action as keyof typeof via], NOW);
}

test('entries: type from the operation, states, origin and reason from who asked', () => {
  const stopped = sampleWorkspace({ state: 'stopped', pending: null });
  const user = activityFor({ rec: intent(stopped, 'start'), op: 'start', to: 'running' });
  assert.deepEqual(user, {
    workspace_id: stopped.id, type: 'started', from_state: 'stopped', to_state: 'running', origin: 'user', reason: null, details: { op: 'start' },
  });
  const exited = { ...stopped, lifecycle: { ...stopped.lifecycle, restart: { ...stopped.lifecycle.restart, count: 1, last_exit_code: 3, last_exit_reason: 'exited' } } };
  const policy = activityFor({ rec: intent(exited, 'start', 'policy'), op: 'start', to: 'running' });
  assert.deepEqual([policy.type, policy.origin, policy.reason, policy.details.exit_code, policy.details.restart_count],
    ['restarted', 'restart_policy', 'exit code 3', 3, 2]);
  const oom = { ...exited, lifecycle: { ...exited.lifecycle, restart: { ...exited.lifecycle.restart, last_exit_code: 137, last_exit_reason: 'oom' } } };
  assert.equal(activityFor({ rec: intent(oom, 'start', 'policy'), op: 'start', to: 'running' }).reason, 'out of memory');
  assert.deepEqual(activityFor({ rec: intent(oom, 'delete', 'policy'), op: 'delete', to: 'deleted' }).origin, 'remove_on_exit');
  const running = sampleWorkspace({ state: 'running', pending: null });
  const ttl = activityFor({ rec: intent(running, 'stop', 'ttl'), op: 'stop', to: 'stopped' });
  assert.deepEqual([ttl.type, ttl.origin, ttl.reason, ttl.from_state], ['stopped', 'ttl', 'ttl expired', 'running']);
  assert.equal(activityFor({ rec: intent(running, 'pause', 'idle'), op: 'pause', to: 'paused' }).origin, 'idle');
  const created = activityFor({ rec: { ...running, state: 'creating', pending: { op: 'create', startedAt: NOW } }, op: 'create', to: 'running' });
  assert.deepEqual([created.type, created.from_state, created.origin], ['created', null, 'user']);
});

test('entries: failures carry the code only; an undone operation says so', () => {
  const rec = intent(sampleWorkspace({ state: 'running', pending: null }), 'restart');
  const failed = activityFor({ rec, op: 'restart', to: 'failed', error: 'VM_UNAVAILABLE' });
  assert.deepEqual([failed.type, failed.to_state, failed.details], ['failed', 'failed', { op: 'restart', code: 'VM_UNAVAILABLE' }]);
  const undone = activityFor({ rec, op: 'restart', to: 'stopped', error: 'archive_corrupted' });
  assert.equal(undone.details.reverted, true);
});

test('runPending reports every outcome once, after it is stored; the log keeps their order', async (t) => {
  const store = await tempStore(t);
  const log = new ActivityLog({ store, log: () => {}, now: () => Date.parse(NOW) });
  const seen: OperationEvent[] = [];
  let failNext = false;
  const orch = {
    bringUp: async () => { if (failNext) throw new AppError('VM_UNAVAILABLE', 'no'); },
    bringDown: async () => {}, pause: async () => {}, resume: async () => {}, destroy: async () => {},
  } as unknown as Orchestrator;
  const hooks = { onDeleted: () => {}, log: () => {}, activity: (e: OperationEvent) => { seen.push(e); log.onOperation(e); } };
  const ws = sampleWorkspace({ state: 'stopped', pending: null });
  await store.insertWorkspace(ws);
  const run = async (action: 'start' | 'stop' | 'delete') => {
    const cur = (await store.getWorkspace(ws.id))!;
    return runPending(store, orch, await store.updateWorkspace(intent(cur, action)), hooks);
  };
  await run('start');
  await run('stop');
  failNext = true;
  await assert.rejects(run('start'), (err: unknown) => err instanceof AppError && err.code === 'VM_UNAVAILABLE');
  await run('delete');
  assert.deepEqual(seen.map((e) => [e.op, e.to, e.error]), [
    ['start', 'running', undefined], ['stop', 'stopped', undefined], ['start', 'failed', 'VM_UNAVAILABLE'], ['delete', 'deleted', undefined],
  ]);
  const listed = (await log.list({ workspaceId: ws.id, limit: 10 })).map(activityView).reverse();
  assert.deepEqual(listed.map((e) => [e.type, e.from_state, e.to_state]), [
    ['started', 'stopped', 'running'], ['stopped', 'running', 'stopped'], ['failed', 'stopped', 'failed'], ['deleted', 'failed', 'deleted'],
  ]);
  assert.match(listed[0]!.id, /^act_\d+$/);
  assert.equal(listed[0]!.at, NOW);
});
