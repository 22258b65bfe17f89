import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../contract/errors.js';
import { parseUsagePeriod } from '../contract/usage.js';
import { openStore } from '../store/open.js';
import type { Store, UsageRow } from '../store/store.js';
import { DEFAULT_PRICES, creditsOf } from './pricing.js';
import { UsageReports } from './usage-report.js';

const NOW = Date.parse('2026-05-10T12:30:00.000Z');

async function rig(t: TestContext): Promise<{ store: Store; reports: UsageReports }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-report-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, reports: new UsageReports({ store, prices: DEFAULT_PRICES, now: () => NOW }) };
}

const row = (bucket_start: string, cpu: number): UsageRow => ({
  workspace_id: 'ws_a', bucket_start, cpu_seconds: cpu, memory_mb_seconds: 1024 * 60, disk_mb_hours: 100, rx_bytes: 10, tx_bytes: 2 ** 20,
});

test('series: default tier by span, buckets keyed by tier start over exactly the period asked; totals and chart agree', async (t) => {
  const { store, reports } = await rig(t);
  await store.recordUsage([row('2026-05-08T09:15:00.000Z', 3600), row('2026-05-10T11:05:00.000Z', 60), row('2026-05-10T11:45:00.000Z', 120)], []);
  const day = await reports.series('ws_a', parseUsagePeriod({ last: '24h' }, 'all', NOW));
  assert.deepEqual(day.period, { from: '2026-05-09T12:30:00.000Z', to: '2026-05-10T12:30:00.000Z', tier: 'hour' });
  assert.deepEqual(Object.keys(day.series), ['2026-05-10T11:00:00.000Z']);
  assert.equal(day.totals.cpu_seconds, 180);
  const hour = await reports.series('ws_a', parseUsagePeriod({ last: '1h' }, 'all', NOW));
  assert.deepEqual([hour.period.from, hour.totals.cpu_seconds, Object.keys(hour.series)], ['2026-05-10T11:30:00.000Z', 120, ['2026-05-10T11:00:00.000Z']],
    'the first bucket is partial: only what the period holds');
  const week = await reports.series('ws_a', parseUsagePeriod({ period: '7d' }, 'all', NOW));
  assert.equal(week.period.tier, 'day');
  assert.deepEqual(Object.keys(week.series), ['2026-05-08T00:00:00.000Z', '2026-05-10T00:00:00.000Z']);
  const totals = await reports.totals('ws_a', parseUsagePeriod({}, 'all', NOW));
  const expected = creditsOf({ cpu_seconds: 3780, memory_mb_seconds: 3 * 1024 * 60, disk_mb_hours: 300, rx_bytes: 30, tx_bytes: 3 * 2 ** 20 }, DEFAULT_PRICES);
  assert.ok(Math.abs(totals.credits.total - expected.total) < 1e-6);
  assert.equal(totals.first_bucket, '2026-05-08T09:15:00.000Z');
  const chart = await reports.creditsChart('ws_a', parseUsagePeriod({ period: '3d' }, 'all', NOW));
  assert.deepEqual(Object.keys(chart.chart), ['2026-05-07', '2026-05-08', '2026-05-09', '2026-05-10']);
  assert.equal(chart.chart['2026-05-09'], 0);
  assert.ok(chart.chart['2026-05-08']! > 0);
  assert.ok(Math.abs(chart.credits.cpu - 3780 / 3600) < 1e-6);
  assert.ok(Math.abs(chart.total_credits - expected.total) < 1e-6);
});

test('series: too many buckets for the tier is 400 on tier; all=true spans from the first bucket', async (t) => {
  const { store, reports } = await rig(t);
  await store.recordUsage([row('2026-01-01T00:00:00.000Z', 1)], []);
  await assert.rejects(reports.series('ws_a', parseUsagePeriod({ all: 'true', tier: 'minute' }, 'all', NOW)),
    (err: unknown) => err instanceof AppError && err.code === 'bad_request' && err.details?.field === 'tier');
  const all = await reports.series('ws_a', parseUsagePeriod({ all: 'true' }, 'all', NOW));
  assert.deepEqual([all.period.from, all.period.tier, all.buckets], ['2026-01-01T00:00:00.000Z', 'day', 1]);
});

test('global: every workspace with usage, deleted ones marked; estimate uses the same table', async (t) => {
  const { store, reports } = await rig(t);
  await store.recordUsage([row('2026-05-10T11:05:00.000Z', 60), { ...row('2026-05-10T11:05:00.000Z', 30), workspace_id: 'ws_gone' }], []);
  const g = await reports.global(parseUsagePeriod({}, { lastSeconds: 86_400 }, NOW), new Map());
  assert.equal(g.workspace_count, 2);
  assert.equal(g.totals.cpu_seconds, 90);
  assert.deepEqual((g.workspaces.ws_gone as { status: string }).status, 'deleted');
  const est = reports.estimate({ cpus: 2, memoryMb: 1024, diskMb: 1024 });
  assert.equal(est.credits_per_hour, 2 * DEFAULT_PRICES.vcpu_hour + DEFAULT_PRICES.memory_gb_hour + Math.round(DEFAULT_PRICES.disk_gb_month / 730 * 1e6) / 1e6);
  assert.ok(Math.abs(est.credits_per_month - est.credits_per_hour * 730) < 1e-3);
});
