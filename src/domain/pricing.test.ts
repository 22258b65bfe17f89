import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { creditsOf, DEFAULT_PRICES, hourlyRate, parsePriceTable } from './pricing.js';
import { loadPrices, loadUsageConfig } from '../config/usage.js';

test('price table: keys left out keep their default; unknown keys and bad values are refused by name', () => {
  assert.deepEqual(parsePriceTable({ vcpu_hour: 2 }, 'f'), { ...DEFAULT_PRICES, vcpu_hour: 2 });
  assert.throws(() => parsePriceTable({ cpu_hour: 1 }, 'prices.json'), /prices\.json: unknown price key "cpu_hour"/);
  assert.throws(() => parsePriceTable({ disk_gb_month: -1 }, 'f'), /price "disk_gb_month" must be a non-negative number/);
  assert.throws(() => parsePriceTable({ memory_gb_hour: '0.5' }, 'f'), /memory_gb_hour/);
  assert.throws(() => parsePriceTable([1], 'f'), /must be a JSON object/);
});

test('credits: price × usage in binary units; the estimate is a full-use hour of the same table', () => {
  const p = { vcpu_hour: 1, memory_gb_hour: 0.5, disk_gb_month: 10, network_egress_gb: 5, network_ingress_gb: 1 };
  const c = creditsOf({ cpu_seconds: 7200, memory_mb_seconds: 1024 * 3600, disk_mb_hours: 1024 * 730, rx_bytes: 2 ** 30, tx_bytes: 2 ** 31 }, p);
  assert.deepEqual(c, { cpu: 2, memory: 0.5, disk: 10, network: 11, total: 23.5 });
  const rate = hourlyRate({ cpus: 2, memoryMb: 2048, diskMb: 1024 * 73 }, p);
  assert.deepEqual(rate, { cpu: 2, memory: 1, disk: 1, total: 4 });
});

test('price file: WARREN_PRICES_FILE, else <data dir>/prices.json, else defaults; a bad file stops start-up', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-prices-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(loadPrices(dir, {}), { prices: DEFAULT_PRICES, source: 'defaults' });
  writeFileSync(join(dir, 'prices.json'), '{"network_egress_gb": 0}');
  assert.equal(loadPrices(dir, {}).prices.network_egress_gb, 0);
  const named = join(dir, 'other.json');
  writeFileSync(named, '{"vcpu_hour": 3}');
  assert.deepEqual(loadPrices(dir, { WARREN_PRICES_FILE: named }), { prices: { ...DEFAULT_PRICES, vcpu_hour: 3 }, source: named });
  writeFileSync(named, '{"vcpu_hour": 3,');
  assert.throws(() => loadPrices(dir, { WARREN_PRICES_FILE: named }), /is not valid JSON/);
  writeFileSync(named, '{"gpu_hour": 3}');
  assert.throws(() => loadPrices(dir, { WARREN_PRICES_FILE: named }), /unknown price key "gpu_hour"/);
  assert.throws(() => loadPrices(dir, { WARREN_PRICES_FILE: join(dir, 'missing.json') }), /cannot be read: ENOENT/);
});

test('usage options: defaults, and bad values name their variable', () => {
  const dir = join(tmpdir(), 'warren-no-such-dir');
  const cfg = loadUsageConfig(dir, {});
  assert.deepEqual([cfg.intervalMs, cfg.retentionDays, cfg.activityRetentionDays, cfg.activityMaxPerWorkspace], [15_000, 90, 90, 10_000]);
  assert.equal(loadUsageConfig(dir, { WARREN_USAGE_INTERVAL_MS: '500' }).intervalMs, 500);
  assert.throws(() => loadUsageConfig(dir, { WARREN_USAGE_INTERVAL_MS: '10' }), /WARREN_USAGE_INTERVAL_MS must be an integer ≥ 100/);
  assert.throws(() => loadUsageConfig(dir, { WARREN_USAGE_RETENTION_DAYS: 'x' }), /WARREN_USAGE_RETENTION_DAYS/);
});
