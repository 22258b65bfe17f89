import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxStats } from '../drivers/driver.js';
import { openStore } from '../store/open.js';
import type { Store, UsageCursor, WorkspaceRecord } from '../store/store.js';
import { sampleWorkspace } from '../store/contract-fixtures.js';
import { bucketOf, counterDelta, usageBetween, UsageRecorder } from './usage.js';

const MB = 1024 * 1024;
const T0 = Date.parse('2026-05-01T10:00:10.000Z');
const STARTED = '2026-05-01T09:00:00.000Z';

function cur(atMs: number, over: Partial<UsageCursor> = {}): UsageCursor {
  return { at: new Date(atMs).toISOString(), started_at: STARTED, cpu_ns: 0, rx_bytes: 0, tx_bytes: 0, memory_bytes: 0, disk_bytes: 0, ...over };
}

function stats(over: Partial<SandboxStats> = {}): SandboxStats {
  return {
    cpuUsageNs: 0, memoryBytes: 0, memoryLimitBytes: 512 * MB, pids: 1, diskUsedBytes: 0, diskLimitBytes: 512 * MB,
    networkRxBytes: 0, networkTxBytes: 0, ...over,
  };
}

async function tempStore(t: TestContext): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-usage-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

test('counters: growth is the difference; a counter that went down restarted and counts from 0', () => {
  assert.equal(counterDelta(100, 250), 150);
  assert.equal(counterDelta(250, 250), 0);
  assert.equal(counterDelta(5_000, 40), 40);
});

test('usage between samples: CPU and network deltas, gauges integrated over time (trapezoid)', () => {
  const prev = cur(T0, { cpu_ns: 2e9, rx_bytes: 1000, tx_bytes: 500, memory_bytes: 100 * MB, disk_bytes: 10 * MB });
  const next = cur(T0 + 15_000, { cpu_ns: 5e9, rx_bytes: 1500, tx_bytes: 2500, memory_bytes: 300 * MB, disk_bytes: 30 * MB });
  assert.deepEqual(usageBetween(prev, next), {
    cpu_seconds: 3, memory_mb_seconds: 200 * 15, disk_mb_hours: 20 * (15 / 3600), rx_bytes: 500, tx_bytes: 2000,
  });
  assert.deepEqual(usageBetween(null, next), { cpu_seconds: 0, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 },
    'nothing is known before the first sample');
});

test('usage between samples: a sandbox restart counts counters from 0 and integrates gauges only since the start', () => {
  const prev = cur(T0, { cpu_ns: 9e9, tx_bytes: 10_000, memory_bytes: 400 * MB });
  const restartedAt = new Date(T0 + 50_000).toISOString();
  const next = cur(T0 + 60_000, { started_at: restartedAt, cpu_ns: 1e9, tx_bytes: 300, memory_bytes: 100 * MB });
  const u = usageBetween(prev, next);
  assert.equal(u.cpu_seconds, 1);
  assert.equal(u.tx_bytes, 300);
  assert.equal(u.memory_mb_seconds, 100 * 10, 'only the 10 s since the restart, at the new gauge');
});

test('buckets are UTC minutes', () => {
  assert.equal(bucketOf(Date.parse('2026-05-01T10:00:59.999Z')), '2026-05-01T10:00:00.000Z');
  assert.equal(bucketOf(Date.parse('2026-05-01T10:01:00.000Z')), '2026-05-01T10:01:00.000Z');
});

/** A recorder over a real store whose one workspace reports `next` stats; the clock is set by the test. */
async function rig(t: TestContext) {
  const store = await tempStore(t);
  const ws: WorkspaceRecord = sampleWorkspace({ state: 'running', pending: null, startedAt: STARTED });
  await store.insertWorkspace(ws);
  const state = { now: T0, next: stats() };
  const make = () => new UsageRecorder({
    store, sample: async () => state.next, intervalMs: 60_000, log: () => {}, now: () => state.now,
  });
  return { store, ws, state, make };
}

test('recorder: samples add into minute buckets; the cursor survives a new recorder (restart of Warren)', async (t) => {
  const { store, ws, state, make } = await rig(t);
  const rec = make();
  state.next = stats({ cpuUsageNs: 10e9, memoryBytes: 64 * MB });
  await rec.tick(); // first sample: baseline only
  assert.deepEqual(await store.listUsage({}, 'minute'), []);
  state.now += 20_000;
  state.next = stats({ cpuUsageNs: 12e9, memoryBytes: 64 * MB, networkTxBytes: 4096 });
  await rec.tick();
  state.now += 40_000;
  state.next = stats({ cpuUsageNs: 13e9, memoryBytes: 64 * MB, networkTxBytes: 4096 });
  await rec.tick();
  const rows = await store.listUsage({ workspaceId: ws.id }, 'minute');
  assert.deepEqual(rows.map((r) => [r.bucket_start, r.cpu_seconds, r.memory_mb_seconds, r.tx_bytes]), [
    ['2026-05-01T10:00:00.000Z', 2, 64 * 20, 4096],
    ['2026-05-01T10:01:00.000Z', 1, 64 * 40, 0],
  ]);
  const again = make(); // a new process: counts on from the stored cursor
  state.now += 30_000;
  state.next = stats({ cpuUsageNs: 20e9, memoryBytes: 64 * MB, networkTxBytes: 4096 });
  await again.close(); // close() takes a last sample
  const [total] = await store.usageTotals({ workspaceId: ws.id });
  assert.equal(total!.cpu_seconds, 10);
  assert.equal(total!.memory_mb_seconds, 64 * 90);
});

test('recorder: tracking off writes nothing but moves the cursor, so turning it on never bills the gap', async (t) => {
  const { store, ws, state, make } = await rig(t);
  const rec = make();
  state.next = stats({ cpuUsageNs: 1e9 });
  await rec.tick();
  await store.setUsageTracking(ws.id, false, new Date(state.now).toISOString());
  state.now += 15_000;
  state.next = stats({ cpuUsageNs: 50e9 });
  await rec.tick();
  assert.deepEqual(await store.usageTotals({}), []);
  await store.setUsageTracking(ws.id, true, new Date(state.now).toISOString());
  state.now += 15_000;
  state.next = stats({ cpuUsageNs: 51e9 });
  await rec.tick();
  assert.equal((await store.usageTotals({}))[0]!.cpu_seconds, 1);
});

test('recorder: only running and paused workspaces without a pending operation are sampled; failures are skipped', async (t) => {
  const { store, state, make } = await rig(t);
  await store.insertWorkspace(sampleWorkspace({ state: 'stopped', pending: null }));
  await store.insertWorkspace(sampleWorkspace({ state: 'stopping', pending: { op: 'stop', startedAt: STARTED } }));
  const sampled: string[] = [];
  const rec = new UsageRecorder({
    store, intervalMs: 60_000, log: () => {}, now: () => state.now,
    sample: async (r) => {
      sampled.push(r.state);
      if (r.state === 'paused') throw new Error('gone');
      return stats();
    },
  });
  await store.insertWorkspace(sampleWorkspace({ state: 'paused', pending: null }));
  await rec.tick();
  assert.deepEqual(sampled.sort(), ['paused', 'running']);
  assert.equal((await store.listUsageTracking()).length, 1, 'a failed sample moves no cursor');
});

test('recorder: a workspace started while it runs counts from its start; one started before counts from its first sample', async (t) => {
  const { store, ws, state, make } = await rig(t);
  const rec = make(); // created at T0; `ws` started an hour before
  const fresh = sampleWorkspace({ state: 'running', pending: null, startedAt: new Date(T0 + 5_000).toISOString() });
  await store.insertWorkspace(fresh);
  state.now = T0 + 15_000;
  state.next = stats({ cpuUsageNs: 0.7e9, memoryBytes: 50 * MB, networkRxBytes: 300 });
  await rec.tick();
  const totals = new Map((await store.usageTotals({})).map((r) => [r.workspace_id, r]));
  assert.equal(totals.get(ws.id), undefined);
  assert.deepEqual(totals.get(fresh.id) && [totals.get(fresh.id)!.cpu_seconds, totals.get(fresh.id)!.rx_bytes, totals.get(fresh.id)!.memory_mb_seconds],
    [0.7, 300, 25 * 10], 'boot CPU and traffic counted; memory from 0 at the start (trapezoid over 10 s)');
});
