import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusText } from '../../test/support/prom-text.js';
import { sampleWithin } from './collect.js';
import { createMetrics, type WorkspaceCounters } from './registry.js';

const counters = (n: number): WorkspaceCounters => ({
  cpuUsageNs: n * 1.5e9, memoryBytes: n * 1000, memoryLimitBytes: 512 * 1024 * 1024, pids: n, diskUsedBytes: n * 10,
  diskLimitBytes: 1 << 30, networkRxBytes: n * 7, networkTxBytes: n * 3,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('scrape: gauges per live workspace, state counts, histograms, default process metrics; all parse strictly', async () => {
  const m = createMetrics({
    inventory: async () => [
      { id: 'ws_a', state: 'running', read: async () => counters(2) },
      { id: 'ws_b', state: 'paused', read: async () => counters(3) },
      { id: 'ws_c', state: 'running', read: async () => { throw new Error('gone'); } },
      { id: 'ws_d', state: 'stopped' },
    ],
  });
  m.observeHttp('GET', '/workspace/:id/stats', 200, 0.004);
  m.observeGatewayExec(0.02, 200);
  m.observePolicyApply(0.015);
  m.observeImageBuild('debian-12', 42);
  const { contentType, body } = await m.render();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const fams = parsePrometheusText(body);
  const value = (name: string, labels: Record<string, string>) =>
    [...fams.values()].flatMap((f) => f.samples)
      .find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.equal(value('warren_workspace_cpu_seconds_total', { workspace_id: 'ws_a' }), 3);
  assert.equal(value('warren_workspace_memory_bytes', { workspace_id: 'ws_b' }), 3000);
  assert.equal(value('warren_workspace_memory_limit_bytes', { workspace_id: 'ws_a' }), 512 * 1024 * 1024);
  assert.equal(value('warren_workspace_disk_used_bytes', { workspace_id: 'ws_a' }), 20);
  assert.equal(value('warren_workspace_disk_limit_bytes', { workspace_id: 'ws_a' }), 1 << 30);
  assert.equal(value('warren_workspace_network_rx_bytes_total', { workspace_id: 'ws_b' }), 21);
  assert.equal(value('warren_workspace_network_tx_bytes_total', { workspace_id: 'ws_b' }), 9);
  assert.equal(value('warren_workspace_pids', { workspace_id: 'ws_b' }), 3);
  assert.equal(fams.get('warren_workspace_pids')!.samples.length, 2, 'failed and stopped workspaces are left out');
  assert.equal(value('warren_workspaces', { state: 'running' }), 2);
  assert.equal(value('warren_workspaces', { state: 'stopped' }), 1);
  assert.equal(fams.get('warren_http_request_duration_seconds')!.type, 'histogram');
  assert.equal(value('warren_http_request_duration_seconds_count', { route: '/workspace/:id/stats', method: 'GET', status: '200' }), 1);
  assert.equal(value('warren_gateway_exec_duration_seconds_count', { status: '200' }), 1);
  assert.equal(value('warren_network_policy_apply_seconds_sum', {}), 0.015);
  assert.equal(value('warren_image_build_seconds_count', { image: 'debian-12' }), 1);
  assert.ok(fams.has('process_cpu_user_seconds_total'), 'default process metrics');
});

test('a workspace gone since the last scrape disappears; concurrent scrapes share one refresh', async () => {
  let live = ['ws_a', 'ws_b'];
  let inventories = 0;
  const m = createMetrics({
    defaultMetrics: false,
    inventory: async () => {
      inventories++;
      await sleep(20);
      return live.map((id) => ({ id, state: 'running', read: async () => counters(1) }));
    },
  });
  const [a, b] = await Promise.all([m.render(), m.render()]);
  assert.equal(inventories, 1);
  assert.equal(a.body, b.body);
  live = ['ws_b'];
  const fams = parsePrometheusText((await m.render()).body);
  assert.deepEqual(fams.get('warren_workspace_pids')!.samples.map((s) => s.labels.workspace_id), ['ws_b']);
});

test('sampleWithin: bounded concurrency, late and failed readings skipped within the budget', async () => {
  let running = 0;
  let peak = 0;
  const task = (ms: number, v: number, fail = false) => async () => {
    running++;
    peak = Math.max(peak, running);
    await sleep(ms);
    running--;
    if (fail) throw new Error('x');
    return v;
  };
  const t0 = Date.now();
  const out = await sampleWithin([task(10, 1), task(10, 2, true), task(5000, 3), task(10, 4), task(10, 5)], { concurrency: 2, budgetMs: 300 });
  const took = Date.now() - t0;
  assert.ok(took < 1000, `the budget bounds the scrape (${took} ms)`);
  assert.deepEqual(out, [1, undefined, undefined, 4, 5]);
  assert.ok(peak <= 2, `at most 2 at once (saw ${peak})`);
  assert.deepEqual(await sampleWithin([], { concurrency: 4, budgetMs: 100 }), []);
});
