import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { WorkspaceBackend } from './backend.js';
import { LocalCoordination } from '../coordination/local.js';
import { OrphanedOperations } from './orphaned-operations.js';

const NOW = Date.parse('2026-01-01T00:01:00.000Z');

/** A record with `op` pending, last written `ageMs` before NOW (only the fields the sweep and runPending read). */
function rec(id: string, op: 'create' | 'stop' | null, ageMs: number): WorkspaceRecord {
  return {
    id, state: op === 'create' ? 'creating' : op === 'stop' ? 'stopping' : 'running', startedAt: null,
    pending: op ? { op, startedAt: new Date(NOW - ageMs).toISOString() } : null,
    updatedAt: new Date(NOW - ageMs).toISOString(),
  } as unknown as WorkspaceRecord;
}

function fakeStore(recs: WorkspaceRecord[]): Store & { rows: Map<string, WorkspaceRecord> } {
  const rows = new Map(recs.map((r) => [r.id, r]));
  return {
    rows,
    allWorkspaces: async () => [...rows.values()],
    getWorkspace: async (id: string) => rows.get(id) ?? null,
    updateWorkspace: async (r: WorkspaceRecord) => { rows.set(r.id, r); return r; },
  } as unknown as Store & { rows: Map<string, WorkspaceRecord> };
}

function fakeBackend(calls: string[]): WorkspaceBackend {
  return {
    bringUp: async (r: WorkspaceRecord) => { calls.push(`up ${r.id}`); },
    bringDown: async (r: WorkspaceRecord) => { calls.push(`down ${r.id}`); },
  } as unknown as WorkspaceBackend;
}

const hooks = { log: () => {}, onDeleted: () => {} };

test('stale pending operations are finished; fresh ones, settled records and held leases are left alone', async (t) => {
  // The lock's busy timer is unref'd (a server's loop is alive anyway); keep this test's loop alive.
  const alive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(alive));
  const store = fakeStore([
    rec('ws_stale_create', 'create', 30_000), rec('ws_stale_stop', 'stop', 12_000),
    rec('ws_fresh', 'create', 2_000), rec('ws_settled', null, 60_000), rec('ws_held', 'create', 30_000),
  ]);
  const coordination = new LocalCoordination('replica-b');
  const calls: string[] = [];
  const sweep = new OrphanedOperations({ store, coordination, backend: fakeBackend(calls), hooks, now: () => NOW });
  // A live replica is running ws_held's operation: it holds the lease.
  let release!: () => void;
  const held = coordination.run('ws_held', () => new Promise<void>((r) => { release = r; }));
  await new Promise((r) => setImmediate(r));

  assert.equal(await sweep.sweep(), 2);
  assert.deepEqual(calls.sort(), ['down ws_stale_stop', 'up ws_stale_create']);
  assert.equal(store.rows.get('ws_stale_create')!.state, 'running');
  assert.equal(store.rows.get('ws_stale_create')!.pending, null);
  assert.equal(store.rows.get('ws_stale_stop')!.state, 'stopped');
  assert.ok(store.rows.get('ws_fresh')!.pending, 'a fresh operation is its own replica\'s to run');
  assert.ok(store.rows.get('ws_held')!.pending, 'a held lease is skipped, not waited for');

  release();
  await held;
  calls.length = 0;
  assert.equal(await sweep.sweep(), 1, 'once the lease is free the next sweep finishes it');
  assert.deepEqual(calls, ['up ws_held']);
  assert.equal(await sweep.sweep(), 0, 'nothing is run twice');
});

test('a record settled by its own replica meanwhile is not run again (re-read under the lease)', async () => {
  const store = fakeStore([rec('ws_a', 'create', 30_000)]);
  const calls: string[] = [];
  const coordination = new LocalCoordination('replica-b');
  const real = store.getWorkspace;
  // Between the listing and the lease, the other replica finishes the operation.
  store.getWorkspace = async (id: string) => ({ ...(await real(id))!, pending: null, state: 'running' } as WorkspaceRecord);
  const sweep = new OrphanedOperations({ store, coordination, backend: fakeBackend(calls), hooks, now: () => NOW });
  assert.equal(await sweep.sweep(), 0);
  assert.deepEqual(calls, []);
});
