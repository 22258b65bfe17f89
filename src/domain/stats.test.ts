import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxStats } from '../drivers/driver.js';
import { humanBytes, statsEvent, stoppedEvent, type CounterSample } from './stats.js';

const MiB = 1024 * 1024;

function counters(o: Partial<SandboxStats> = {}): SandboxStats {
  return {
    cpuUsageNs: 0, memoryBytes: 0, memoryLimitBytes: 512 * MiB, pids: 3, diskUsedBytes: 0, diskLimitBytes: 1024 * MiB,
    networkRxBytes: 0, networkTxBytes: 0, ...o,
  };
}
const at = (ms: number, o: Partial<SandboxStats> = {}): CounterSample => ({ at: ms, wall: Date.UTC(2026, 0, 1) + ms, stats: counters(o) });
const limits = { cpus: 2, memoryMb: 512 };

test('CPU is % of one core over the interval, and % of the workspace cpus', () => {
  const e = statsEvent('ws_1', 'running', at(1500, { cpuUsageNs: 1.5e9 + 0.75e9 }), at(500, { cpuUsageNs: 1.5e9 }), limits);
  assert.equal(e.cpu_usage, 75);
  assert.equal(e.cpuUsage, 75);
  assert.equal(e.cpu_percent_of_limit, 37.5);
  const twoCores = statsEvent('ws_1', 'running', at(2000, { cpuUsageNs: 4e9 }), at(1000, { cpuUsageNs: 2e9 }), limits);
  assert.equal(twoCores.cpu_usage, 200);
  assert.equal(twoCores.cpu_percent_of_limit, 100);
  const third = statsEvent('ws_1', 'running', at(300, { cpuUsageNs: 1e8 }), at(0), { cpus: 1, memoryMb: 512 });
  assert.equal(third.cpu_usage, 33.3, 'one decimal');
});

test('memory, disk and network in both spellings; rates over the interval', () => {
  const prev = at(0, { networkRxBytes: 1000, networkTxBytes: 500 });
  const cur = at(2000, {
    memoryBytes: 128 * MiB, diskUsedBytes: 256 * MiB, networkRxBytes: 1000 + 4096, networkTxBytes: 500 + 1000, pids: 7,
  });
  const e = statsEvent('ws_1', 'paused', cur, prev, limits);
  assert.equal(e.workspace_id, 'ws_1');
  assert.equal(e.state, 'paused');
  assert.equal(e.timestamp, '2026-01-01T00:00:02.000Z');
  assert.equal(e.memory_usage, 25);
  assert.equal(e.memoryUsage, 25);
  assert.equal(e.memory_used_mb, 128);
  assert.equal(e.memoryUsedMB, 128);
  assert.equal(e.memory_total_mb, 512);
  assert.equal(e.memoryTotalMB, 512);
  assert.equal(e.memory_bytes, 128 * MiB);
  assert.equal(e.disk_usage, 25);
  assert.equal(e.disk_used_mb, 256);
  assert.equal(e.diskUsedMB, 256);
  assert.equal(e.disk_total_mb, 1024);
  assert.equal(e.diskTotalMB, 1024);
  assert.deepEqual(e.network, { rx: 5096, tx: 1500 });
  assert.equal(e.rx_bytes, 5096);
  assert.equal(e.tx_bytes, 1500);
  assert.equal(e.rx_rate, 2048);
  assert.equal(e.tx_rate, 500);
  assert.equal(e.networkIn, '5.0 KB');
  assert.equal(e.networkOut, '1.5 KB');
  assert.equal(e.pids, 7);
});

test('no previous reading, or counters that went backwards (restart): zero, never negative', () => {
  const first = statsEvent('ws_1', 'running', at(1000, { cpuUsageNs: 5e9, networkRxBytes: 99 }), null, limits);
  assert.equal(first.cpu_usage, 0);
  assert.equal(first.rx_rate, 0);
  const reset = statsEvent('ws_1', 'running', at(2000, { cpuUsageNs: 1e6, networkRxBytes: 10 }), at(1000, { cpuUsageNs: 9e9, networkRxBytes: 1e6 }), limits);
  assert.equal(reset.cpu_usage, 0);
  assert.equal(reset.rx_rate, 0);
  const sameInstant = statsEvent('ws_1', 'running', at(1000, { cpuUsageNs: 2e9 }), at(1000, { cpuUsageNs: 1e9 }), limits);
  assert.equal(sameInstant.cpu_usage, 0);
  const noLimits = statsEvent('ws_1', 'running', at(1000, { memoryBytes: MiB, diskLimitBytes: 0 }), at(0), { cpus: 0, memoryMb: 0 });
  assert.equal(noLimits.memory_usage, 0);
  assert.equal(noLimits.disk_usage, 0);
  assert.equal(noLimits.cpu_percent_of_limit, 0);
});

test('the stopped event: same fields, nothing used', () => {
  const e = stoppedEvent('ws_9', limits, Date.UTC(2026, 0, 1));
  assert.equal(e.state, 'stopped');
  assert.equal(e.workspace_id, 'ws_9');
  assert.equal(e.cpu_usage, 0);
  assert.equal(e.memory_used_mb, 0);
  assert.equal(e.memory_total_mb, 512);
  assert.equal(e.pids, 0);
  assert.deepEqual(Object.keys(e).sort(), Object.keys(statsEvent('x', 'running', at(1), at(0), limits)).sort());
});

test('humanBytes keeps the seed format', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(1023), '1023 B');
  assert.equal(humanBytes(1.2 * 1024 * 1024), '1.2 MB');
});
