/**
 * Store contract, usage and activity (control-plane.md §13): registered by
 * runStoreContract inside its describe block, against the same fresh stores.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ActivityRecord, UsageCursor, UsageRow } from './store.js';
import { sampleWorkspace, type StoreHandle } from './contract-fixtures.js';

function row(workspace_id: string, bucket_start: string, n = 1): UsageRow {
  return { workspace_id, bucket_start, cpu_seconds: 1.5 * n, memory_mb_seconds: 100 * n, disk_mb_hours: 0.25 * n, rx_bytes: 10 * n, tx_bytes: 20 * n };
}

function cursor(at: string): UsageCursor {
  return { at, started_at: '2026-01-01T00:00:00.000Z', cpu_ns: 5e9, rx_bytes: 7, tx_bytes: 9, memory_bytes: 1 << 20, disk_bytes: 4096 };
}

function entry(workspace_id: string, type: string, at: string): Omit<ActivityRecord, 'id'> {
  return { workspace_id, type, from_state: 'stopped', to_state: 'running', origin: 'user', reason: null, at, details: { op: 'start', ü: '✓' } };
}

const amounts = (r: UsageRow) => [r.cpu_seconds, r.memory_mb_seconds, r.disk_mb_hours, r.rx_bytes, r.tx_bytes];

export function usageContractTests(fresh: (t: TestContext) => Promise<StoreHandle>): void {
  test('usage: samples add into their minute bucket; tiers group by hour and day; ranges are [from, to)', async (t) => {
    const { store } = await fresh(t);
    await store.recordUsage([row('ws_a', '2026-03-01T10:01:00.000Z')], []);
    await store.recordUsage([row('ws_a', '2026-03-01T10:01:00.000Z', 2), row('ws_a', '2026-03-01T10:59:00.000Z')], []);
    await store.recordUsage([row('ws_a', '2026-03-01T11:00:00.000Z'), row('ws_b', '2026-03-02T00:00:00.000Z')], []);
    const minutes = await store.listUsage({ workspaceId: 'ws_a' }, 'minute');
    assert.deepEqual(minutes.map((r) => r.bucket_start), ['2026-03-01T10:01:00.000Z', '2026-03-01T10:59:00.000Z', '2026-03-01T11:00:00.000Z']);
    assert.deepEqual(amounts(minutes[0]!), [4.5, 300, 0.75, 30, 60]);
    const hours = await store.listUsage({ workspaceId: 'ws_a' }, 'hour');
    assert.deepEqual(hours.map((r) => [r.bucket_start, r.cpu_seconds]), [['2026-03-01T10:00:00.000Z', 6], ['2026-03-01T11:00:00.000Z', 1.5]]);
    const days = await store.listUsage({}, 'day');
    assert.deepEqual(days.map((r) => [r.workspace_id, r.bucket_start, r.rx_bytes]),
      [['ws_a', '2026-03-01T00:00:00.000Z', 50], ['ws_b', '2026-03-02T00:00:00.000Z', 10]]);
    const ranged = await store.listUsage({ from: '2026-03-01T10:59:00.000Z', to: '2026-03-02T00:00:00.000Z' }, 'minute');
    assert.deepEqual(ranged.map((r) => r.bucket_start), ['2026-03-01T10:59:00.000Z', '2026-03-01T11:00:00.000Z']);
  });

  test('usage: totals per workspace with first and last bucket; delete wipes one workspace', async (t) => {
    const { store } = await fresh(t);
    await store.recordUsage([row('ws_a', '2026-03-01T10:01:00.000Z'), row('ws_a', '2026-03-03T08:00:00.000Z', 3), row('ws_b', '2026-03-02T00:00:00.000Z')], []);
    const totals = await store.usageTotals({});
    assert.deepEqual(totals.map((r) => [r.workspace_id, r.first_bucket, r.last_bucket, r.tx_bytes]), [
      ['ws_a', '2026-03-01T10:01:00.000Z', '2026-03-03T08:00:00.000Z', 80],
      ['ws_b', '2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00.000Z', 20],
    ]);
    assert.deepEqual((await store.usageTotals({ workspaceId: 'ws_a', from: '2026-03-02T00:00:00.000Z' })).map((r) => r.cpu_seconds), [4.5]);
    assert.equal(await store.deleteUsage('ws_a'), 2);
    assert.deepEqual((await store.usageTotals({})).map((r) => r.workspace_id), ['ws_b']);
  });

  test('usage tracking: on by default, switches keep the cursor, cursors are saved with samples', async (t) => {
    const { store } = await fresh(t);
    assert.equal(await store.getUsageTracking('ws_a'), null);
    await store.recordUsage([row('ws_a', '2026-03-01T10:01:00.000Z')], [{ workspace_id: 'ws_a', cursor: cursor('2026-03-01T10:01:15.000Z') }]);
    assert.deepEqual(await store.getUsageTracking('ws_a'), { workspace_id: 'ws_a', enabled: true, changed_at: null, cursor: cursor('2026-03-01T10:01:15.000Z') });
    const off = await store.setUsageTracking('ws_a', false, '2026-03-01T10:02:00.000Z');
    assert.deepEqual([off.enabled, off.changed_at, off.cursor], [false, '2026-03-01T10:02:00.000Z', cursor('2026-03-01T10:01:15.000Z')]);
    await store.recordUsage([], [{ workspace_id: 'ws_a', cursor: cursor('2026-03-01T10:03:00.000Z') }]);
    assert.equal((await store.getUsageTracking('ws_a'))!.enabled, false, 'a saved cursor does not switch tracking back on');
    await store.setUsageTracking('ws_b', false, '2026-03-01T10:04:00.000Z');
    assert.deepEqual((await store.listUsageTracking()).map((r) => [r.workspace_id, r.enabled]), [['ws_a', false], ['ws_b', false]]);
  });

  test('usage retention: old buckets and the switches of workspaces that are gone are pruned', async (t) => {
    const { store } = await fresh(t);
    const ws = sampleWorkspace();
    await store.insertWorkspace(ws);
    await store.recordUsage([row(ws.id, '2026-01-01T00:00:00.000Z'), row(ws.id, '2026-03-01T00:00:00.000Z')], [{ workspace_id: ws.id, cursor: cursor('2026-03-01T00:00:00.000Z') }]);
    await store.setUsageTracking('ws_gone', false, '2026-03-01T00:00:00.000Z');
    assert.equal(await store.pruneUsage('2026-02-01T00:00:00.000Z'), 1);
    assert.deepEqual((await store.listUsage({}, 'minute')).map((r) => r.bucket_start), ['2026-03-01T00:00:00.000Z']);
    assert.deepEqual((await store.listUsageTracking()).map((r) => r.workspace_id), [ws.id]);
  });

  test('usage and activity outlive their workspace and persist across reopen', async (t) => {
    const handle = await fresh(t);
    const ws = sampleWorkspace();
    await handle.store.insertWorkspace(ws);
    await handle.store.recordUsage([row(ws.id, '2026-03-01T00:00:00.000Z')], []);
    await handle.store.addActivity(entry(ws.id, 'created', '2026-03-01T00:00:00.000Z'));
    await handle.store.deleteWorkspace(ws.id);
    await handle.store.close();
    const reopened = await handle.reopen();
    assert.equal((await reopened.usageTotals({ workspaceId: ws.id })).length, 1);
    assert.equal((await reopened.listActivity({ workspaceId: ws.id, limit: 10 })).length, 1);
  });

  test('activity: ids ascend, listing is newest first with filters and a before cursor', async (t) => {
    const { store } = await fresh(t);
    const a = await store.addActivity(entry('ws_a', 'created', '2026-03-01T00:00:00.000Z'));
    const b = await store.addActivity(entry('ws_b', 'created', '2026-03-01T00:00:01.000Z'));
    const c = await store.addActivity({ ...entry('ws_a', 'stopped', '2026-03-01T00:00:02.000Z'), reason: 'ttl expired', origin: 'ttl' });
    assert.ok(a.id < b.id && b.id < c.id);
    assert.deepEqual(c, { ...entry('ws_a', 'stopped', '2026-03-01T00:00:02.000Z'), reason: 'ttl expired', origin: 'ttl', id: c.id });
    assert.deepEqual((await store.listActivity({ limit: 10 })).map((e) => e.id), [c.id, b.id, a.id]);
    assert.deepEqual((await store.listActivity({ workspaceId: 'ws_a', limit: 10 })).map((e) => e.id), [c.id, a.id]);
    assert.deepEqual((await store.listActivity({ type: 'created', limit: 10 })).map((e) => e.id), [b.id, a.id]);
    assert.deepEqual((await store.listActivity({ before: c.id, limit: 1 })).map((e) => e.id), [b.id]);
    assert.deepEqual((await store.listActivity({ limit: 10 }))[0]!.details, { op: 'start', ü: '✓' });
  });

  test('activity retention: older than the cut-off, then beyond the cap per workspace', async (t) => {
    const { store } = await fresh(t);
    await store.addActivity(entry('ws_a', 'created', '2026-01-01T00:00:00.000Z'));
    for (let i = 0; i < 5; i++) await store.addActivity(entry('ws_a', 'started', `2026-03-01T00:00:0${i}.000Z`));
    await store.addActivity(entry('ws_b', 'created', '2026-03-01T00:00:00.000Z'));
    assert.equal(await store.pruneActivity('2026-02-01T00:00:00.000Z', 3), 3);
    const left = await store.listActivity({ limit: 10 });
    assert.deepEqual(left.map((e) => [e.workspace_id, e.at]), [
      ['ws_b', '2026-03-01T00:00:00.000Z'],
      ['ws_a', '2026-03-01T00:00:04.000Z'], ['ws_a', '2026-03-01T00:00:03.000Z'], ['ws_a', '2026-03-01T00:00:02.000Z'],
    ]);
  });
}
