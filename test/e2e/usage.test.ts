/**
 * Usage and activity on a real server (control-plane.md §13), sampled every 500 ms:
 * a CPU burner is measured; totals, the series and the daily credits chart agree with
 * each other and with the price table; a stopped tracking records nothing; a wipe
 * empties the workspace's usage; the activity history lists lifecycle operations in
 * order, a restart by the restart policy with its reason; and the official CLI and MCP
 * server show all of it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { startMcp } from '../support/mcp.js';
import { adminClient, openRuntime, waitForWorkspace, type Client } from '../support/workspaces.js';

let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 + Math.abs(b) * 1e-6, `${what}: ${a} vs ${b}`);

before(async () => {
  await ensureTestImages(['debian-12']);
  server = await startServer({ env: { WARREN_USAGE_INTERVAL_MS: '500', WARREN_RESTART_BACKOFF_MS: '100' } });
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

async function create(config: Record<string, unknown> = {}) {
  const res = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { memory_mb: 256, ...config } });
  assert.equal(res.status, 201, res.text);
  return res.body.workspace as { id: string };
}

const totals = async (id: string) => (await api(server, 'GET', `/workspace/${id}/usage/totals`)).body;
/** Two seconds of one busy core (the workspace has one vCPU). */
const BURN = ['sh', '-c', 'timeout 2 sh -c "while :; do :; done"; true'];

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${ms} ms: ${JSON.stringify(v).slice(0, 600)}`);
    await sleep(200);
  }
}

test('a CPU burner is measured; totals, series and chart follow the price table; tracking stop records nothing; wipe', async () => {
  const ws = await create();
  try {
    const rt = await openRuntime(client, server, ws.id);
    await rt.exec.run(['sh', '-c', 'head -c 8M /dev/urandom > /root/blob'], { timeoutSeconds: 30 });
    await rt.exec.run(BURN, { timeoutSeconds: 30 });
    const measured = await waitFor(() => totals(ws.id), (b) => b.totals.cpu_seconds > 1.5, 10_000, 'cpu_seconds > 1.5');
    assert.ok(measured.totals.memory_mb_seconds > 0 && measured.totals.disk_mb_hours > 0, JSON.stringify(measured.totals));
    assert.equal(measured.tracking.enabled, true);

    const stop = await api(server, 'POST', `/workspace/${ws.id}/usage/tracking/stop`);
    assert.equal(stop.body.tracking.enabled, false);
    await sleep(1200); // a round that began before the switch has written by now
    const frozen = await totals(ws.id);
    await rt.exec.run(BURN, { timeoutSeconds: 30 });
    await sleep(1500);
    assert.deepEqual((await totals(ws.id)).totals, frozen.totals, 'usage recorded while tracking was off');

    // Frozen: every view of the same period must agree, and with the price table.
    const p = frozen.prices;
    const t = frozen.totals;
    close(frozen.credits.cpu, (t.cpu_seconds / 3600) * p.vcpu_hour, 'cpu credits');
    close(frozen.credits.memory, (t.memory_mb_seconds / 1024 / 3600) * p.memory_gb_hour, 'memory credits');
    close(frozen.credits.total, frozen.credits.cpu + frozen.credits.memory + frozen.credits.disk + frozen.credits.network, 'total');
    const series = (await api(server, 'GET', `/workspace/${ws.id}/usage?all=true&tier=minute`)).body;
    assert.equal(series.period.tier, 'minute');
    close(series.credits.total, frozen.credits.total, 'series vs totals');
    const cpuSum = Object.values(series.series as Record<string, { cpu_seconds: number }>).reduce((s, b) => s + b.cpu_seconds, 0);
    assert.ok(Math.abs(cpuSum - t.cpu_seconds) < 0.01, `${cpuSum} vs ${t.cpu_seconds}`);
    const chart = (await api(server, 'GET', `/workspace/${ws.id}/usage/credits/chart`)).body;
    assert.equal(chart.days, 31);
    close(chart.total_credits, frozen.credits.total, 'chart vs totals');
    const global = (await api(server, 'GET', '/workspace/usage')).body;
    assert.ok(global.workspaces[ws.id], 'the workspace is in the global usage');
    assert.ok(global.credits.total >= frozen.credits.total - 1e-6);

    await api(server, 'POST', `/workspace/${ws.id}/usage/tracking/start`);
    await rt.exec.run(BURN, { timeoutSeconds: 30 });
    await waitFor(() => totals(ws.id), (b) => b.totals.cpu_seconds > t.cpu_seconds + 1, 10_000, 'counting again');

    await api(server, 'POST', `/workspace/${ws.id}/usage/tracking/stop`);
    await sleep(1200);
    const wiped = await api(server, 'DELETE', `/workspace/${ws.id}/usage`);
    assert.ok(wiped.body.deleted_buckets > 0);
    const after = await totals(ws.id);
    assert.deepEqual([after.totals.cpu_seconds, after.credits.total, after.first_bucket], [0, 0, null]);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('activity: lifecycle operations in order; the restart policy says so with the exit code; history outlives the workspace', async () => {
  const ws = await create();
  await client.workspaces.stop(ws.id);
  await client.workspaces.start(ws.id);
  await client.workspaces.restart(ws.id);
  const own = (await api(server, 'GET', `/workspace/${ws.id}/activity`)).body;
  const entries = Object.values(own.activity) as Array<Record<string, any>>;
  assert.deepEqual(entries.map((e) => [e.type, e.from_state, e.to_state, e.origin]), [
    ['restarted', 'running', 'running', 'user'],
    ['started', 'stopped', 'running', 'user'],
    ['stopped', 'running', 'stopped', 'user'],
    ['created', null, 'running', 'user'],
  ]);
  await client.workspaces.delete(ws.id);
  const afterDelete = (await api(server, 'GET', `/workspace/activity?workspace_id=${ws.id}&limit=2`)).body;
  assert.deepEqual(Object.values(afterDelete.activity).map((e: any) => e.type), ['deleted', 'restarted']);
  const next = (await api(server, 'GET', `/workspace/activity?workspace_id=${ws.id}&limit=2&before=${afterDelete.next_before}`)).body;
  assert.deepEqual(Object.values(next.activity).map((e: any) => e.type), ['started', 'stopped']);

  const failing = await create({ cmd: ['sh', '-c', 'sleep 0.5; exit 3'], restart_policy: 'on-failure', max_restarts: 1, memory_mb: 128 });
  try {
    await waitForWorkspace(server, failing.id,
      (w) => w?.status === 'stopped' && w.lifecycle.restart_info.count === 1 && !w.lifecycle.restart_info.next_restart_at, 60_000);
    const restarts = (await api(server, 'GET', `/workspace/activity?workspace_id=${failing.id}&type=restarted`)).body;
    const [entry] = Object.values(restarts.activity) as Array<Record<string, any>>;
    assert.deepEqual([entry!.origin, entry!.reason, entry!.from_state, entry!.to_state, entry!.details.exit_code],
      ['restart_policy', 'exit code 3', 'stopped', 'running', 3]);
  } finally {
    await client.workspaces.delete(failing.id);
  }

  const bad = await api(server, 'GET', '/workspace/activity?limit=501');
  assert.deepEqual([bad.status, bad.body.details.field], [400, 'limit']);
});

test('bad periods are 400 naming the field; static paths are not workspace ids', async () => {
  const ws = await create();
  try {
    for (const [query, field] of [['last=yesterday', 'last'], ['period=7x', 'period'], ['from=soon', 'from'], ['tier=week', 'tier']]) {
      const res = await api(server, 'GET', `/workspace/${ws.id}/usage?${query}`);
      assert.deepEqual([res.status, res.body.code, res.body.details.field], [400, 'bad_request', field], query);
    }
    assert.equal((await api(server, 'GET', '/workspace/usage')).body.success, true);
    assert.equal((await api(server, 'GET', '/workspace/activity')).body.success, true);
    const est = (await api(server, 'GET', '/workspace/estimate?cpu=2&ram_mb=1024&disk_mb=1024')).body;
    close(est.credits_per_hour, 2 * est.prices.vcpu_hour + est.prices.memory_gb_hour + est.prices.disk_gb_month / 730, 'estimate');
    assert.equal((await api(server, 'GET', '/workspace/ws_missing/usage')).status, 404);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('the official CLI prints usage and activity; the MCP tools answer', async () => {
  const ws = await create();
  try {
    await waitFor(() => totals(ws.id), (b) => b.totals.memory_mb_seconds > 0, 10_000, 'first usage');
    const get = await harness.cli('usage', 'get', ws.id, '--period', '1h');
    assert.match(get, /credits:\n {2}cpu: /);
    assert.match(get, /series:\n {2}\d{4}-\d\d-\d\dT/);
    assert.match(await harness.cli('usage', 'totals', ws.id), /cpu_seconds: /);
    assert.match(await harness.cli('usage', 'credits', ws.id), /chart:\n {2}\d{4}-\d\d-\d\d: \d/);
    assert.match(await harness.cli('usage', 'global'), new RegExp(`${ws.id}:\\n {4}name: `));
    assert.match(await harness.cli('usage', 'activity'), /act_\d+:\n {4}id: act_\d+\n {4}workspace_id: /);
    assert.equal(JSON.parse(await harness.cli('usage', 'activity', '--json')).success, true);
    assert.match(await harness.cli('usage', 'stop-tracking', ws.id), /Stopped usage tracking/);
    assert.match(await harness.cli('usage', 'start-tracking', ws.id), /Started usage tracking/);
    assert.match(await harness.cli('usage', 'wipe', ws.id), /Wiped usage data/);
    assert.match(await harness.cli('ws', 'estimate', '--cpus', '2', '--memory', '1024', '--disk', '2048'), /credits_per_month: /);

    const mcp = await startMcp(harness.env());
    try {
      const calls: Array<[string, Record<string, unknown>, string]> = [
        ['workspace_usage', { workspace_id: ws.id }, 'series'],
        ['workspace_usage_totals', { workspace_id: ws.id }, 'totals'],
        ['workspace_credits_chart', { workspace_id: ws.id }, 'chart'],
        ['workspace_usage_global', {}, 'workspaces'],
        ['workspace_activity', {}, 'activity'],
        ['workspace_usage_tracking_stop', { workspace_id: ws.id }, 'tracking'],
        ['workspace_usage_tracking_start', { workspace_id: ws.id }, 'tracking'],
        ['workspace_usage_wipe', { workspace_id: ws.id }, 'deleted_buckets'],
        ['workspace_estimate', { cpu: 1, ram_mb: 512, disk_mb: 1024 }, 'credits_per_month'],
      ];
      for (const [tool, args, key] of calls) {
        const reply = await mcp.callTool(tool, args);
        assert.ok(!reply.result.isError, `${tool}: ${reply.result.content[0].text}`);
        const body = JSON.parse(reply.result.content[0].text);
        assert.equal(body.success, true, tool);
        assert.ok(key in body, `${tool} answers ${key}`);
      }
    } finally {
      mcp.close();
    }
  } finally {
    await client.workspaces.delete(ws.id);
  }
});
