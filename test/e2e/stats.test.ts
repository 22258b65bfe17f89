/**
 * Workspace stats, info, config and operator metrics on a real server with real
 * workspaces, through the official client, its CLI and plain HTTP:
 * - a CPU burner makes `cpu_usage` rise within two ticks of the stream and fall after it
 *   is killed; `memory_used_mb` follows a 100 MiB allocation;
 * - `metrics.statsStream` ends (after a final `stopped` event) when the workspace stops,
 *   for every subscriber, and so does `oblien metrics stats --stream`;
 * - GET /metrics parses as Prometheus text, shows the test's workspaces, labels API
 *   latency by route pattern, needs the admin key or the metrics token (401 otherwise).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ADMIN, ROOT, api, startServer, type TestServer } from '../support/warren.js';
import { ensureTestImages } from '../support/images.js';
import { cliHarness } from '../support/cli.js';
import { adminClient, openRuntime, waitForStatus, type Client, type Rt } from '../support/workspaces.js';
import { parsePrometheusText } from '../support/prom-text.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let server: TestServer;
let client: Client;
const harness = cliHarness(() => server);

before(async () => {
  await ensureTestImages(['debian-12', 'node-20']);
  server = await startServer({ env: { WARREN_METRICS_TOKEN: METRICS_TOKEN } });
  client = adminClient(server);
});
after(async () => {
  await server?.stop();
  harness.cleanup();
});

/** Reads a stats stream in the background; `until` waits for an event that satisfies a predicate. */
function watch(id: string) {
  const events: any[] = [];
  let ended = false;
  const done = (async () => {
    for await (const e of client.workspaces.metrics.statsStream(id)) events.push(e);
    ended = true;
  })();
  async function until(what: string, pred: (e: any, i: number, all: any[]) => boolean, ms = 15_000): Promise<any> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = events.findIndex(pred);
      if (i !== -1) return events[i];
      if (ended || Date.now() > deadline) {
        throw new Error(`${what}: not seen (ended=${ended}); last: ${JSON.stringify(events.slice(-3).map(brief))}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { events, done, until, ended: () => ended };
}
const brief = (e: any) => ({ t: e.timestamp, cpu: e.cpu_usage, mem: e.memory_used_mb, state: e.state });
/** The n-th event (1-based) stamped after `since` (epoch ms): the (n-1)-th tick that began after it. */
const nthAfter = (since: number, n: number) => (e: any, i: number, all: any[]) =>
  Date.parse(e.timestamp) > since && all.slice(0, i + 1).filter((x) => Date.parse(x.timestamp) > since).length === n;

async function sh(rt: Rt, script: string): Promise<string> {
  const r = await rt.exec.run(['sh', '-c', script], { timeoutSeconds: 60 });
  assert.equal(r.exit_code, 0, r.stderr);
  return r.stdout;
}

test('stats: the CPU burner and a 100 MiB allocation show in the stream; details and GET /stats agree', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 512 });
  try {
    const rt = await openRuntime(client, server, ws.id);
    const one: any = await client.workspaces.metrics.stats(ws.id);
    assert.equal(one.success, true);
    for (const body of [one, one.stats]) {
      assert.equal(body.workspace_id, ws.id);
      assert.equal(body.memory_total_mb, 512);
      assert.equal(body.memoryTotalMB, 512);
      assert.ok(body.memory_used_mb > 0 && body.memory_used_mb === body.memoryUsedMB);
      assert.ok(body.disk_total_mb > 0 && body.pids >= 1);
      assert.equal(typeof body.cpu_usage, 'number');
      assert.ok(Number.isFinite(Date.parse(body.timestamp)));
      assert.deepEqual(Object.keys(body.network).sort(), ['rx', 'tx']);
      assert.match(body.networkIn, /^\d+(\.\d)? (B|KB|MB|GB)$/);
    }
    const details = (await api(server, 'GET', `/workspace/${ws.id}/details`)).body.workspace.stats;
    for (const k of ['cpuUsage', 'memoryUsage', 'memoryUsedMB', 'memoryTotalMB', 'networkIn', 'networkOut', 'cpu_usage', 'disk_used_mb']) {
      assert.ok(k in details, `details.stats.${k}`);
    }

    const w = watch(ws.id);
    await w.until('first event', () => true, 5_000);
    const burnAt = Date.now();
    await sh(rt, "sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $! > /tmp/burn.pid");
    const hot = await w.until('second tick after the burner started', nthAfter(burnAt, 2));
    assert.ok(hot.cpu_usage >= 70, `cpu_usage ${hot.cpu_usage} with a busy loop (1 cpu)`);
    assert.ok(hot.cpu_percent_of_limit >= 70);
    const killAt = Date.now();
    await sh(rt, 'kill $(cat /tmp/burn.pid)');
    const cool = await w.until('second tick after the kill', nthAfter(killAt, 2));
    assert.ok(cool.cpu_usage < 20, `cpu_usage ${cool.cpu_usage} after the kill`);

    const base = cool.memory_used_mb;
    // tail -c buffers what it reads until EOF, which the sleep holds back; $! is tail's pid.
    await sh(rt, '{ head -c 100M /dev/zero; sleep 60; } 2>/dev/null | tail -c 200M >/dev/null 2>&1 & echo $! > /tmp/tail.pid');
    const big = await w.until('memory after the allocation', (e) => e.memory_used_mb >= base + 90);
    assert.ok(big.memory_usage > 0 && big.memory_bytes >= (base + 90) * 1024 * 1024);
    const freeAt = Date.now();
    await sh(rt, 'kill $(cat /tmp/tail.pid)');
    await w.until('memory after the release', (e) => Date.parse(e.timestamp) > freeAt && e.memory_used_mb < base + 50);

    const ticks = w.events.map((e) => Date.parse(e.timestamp));
    const gaps = ticks.slice(2).map((t, i) => t - ticks[i + 1]!);
    assert.ok(gaps.every((g) => g > 700 && g < 1600), `one event per ~1 s tick: ${gaps.join(',')}`);
    await client.workspaces.stop(ws.id);
    await Promise.race([w.done, new Promise((_, rej) => setTimeout(() => rej(new Error('stream did not end')), 15_000))]);
    assert.equal(w.events.at(-1).state, 'stopped');
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('stream: every subscriber ends when the workspace stops; the CLI stream too; not running is 409', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  try {
    const streams = [watch(ws.id), watch(ws.id), watch(ws.id)];
    for (const s of streams) await s.until('an event', () => true, 5_000);
    const cli = new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(join(ROOT, 'node_modules', '.bin', 'oblien'), ['metrics', 'stats', ws.id, '--stream'], { env: harness.env(), timeout: 60_000 },
        (err, stdout) => resolve({ code: err ? (err as any).code ?? 1 : 0, out: stdout }));
    });
    await new Promise((r) => setTimeout(r, 2_500));
    await client.workspaces.stop(ws.id);
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error('a stream did not end')), 15_000));
    await Promise.race([Promise.all(streams.map((s) => s.done)), timeout]);
    for (const s of streams) {
      assert.ok(s.events.length >= 2);
      assert.equal(s.events.at(-1).state, 'stopped');
      assert.ok(s.events.slice(0, -1).every((e: any) => e.state === 'running'));
    }
    const { code, out } = await cli;
    assert.equal(code, 0, out);
    assert.ok((out.match(/"workspace_id"/g) ?? []).length >= 2, out.slice(0, 400));
    assert.match(out, /"state": "stopped"/);

    const stats = await api(server, 'GET', `/workspace/${ws.id}/stats`);
    assert.equal(stats.status, 409);
    assert.equal(stats.body.code, 'workspace_not_running');
    const stream = await api(server, 'GET', `/workspace/${ws.id}/stats/stream`, undefined, { accept: 'text/event-stream' });
    assert.equal(stream.status, 409);
    assert.equal(stream.body.success, false);
    const info: any = await client.workspaces.metrics.info(ws.id);
    assert.equal(info.info.state, 'stopped');
    assert.equal(info.info.pids, 0);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('info and config through the library and the CLI; no host paths', async () => {
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 256, cpus: 1 });
  try {
    const info: any = await client.workspaces.metrics.info(ws.id);
    assert.equal(info.success, true);
    for (const body of [info, info.info]) {
      assert.equal(body.driver, 'ns');
      assert.match(body.kernel_release, /^\d+\.\d+/);
      assert.equal(body.image, 'debian-12');
      assert.equal(body.state, 'running');
      assert.match(body.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(body.pids >= 1);
      assert.ok(body.uptime_seconds >= 0 && typeof body.started_at === 'string');
      assert.deepEqual(body.resources, { cpus: 1, memory_mb: 256, disk_size_mb: body.resources.disk_size_mb });
      assert.equal(typeof body.hostname, 'string');
    }
    const config: any = await client.workspaces.metrics.config(ws.id);
    assert.equal(config.success, true);
    assert.equal(config.config.memory_mb, 256);
    assert.equal(config.config.image, 'debian-12');
    const texts = [JSON.stringify(info), JSON.stringify(config)];
    for (const t of texts) assert.ok(!t.includes(server.dataDir) && !/"\/(var|tmp|root|home)\//.test(t), 'no host paths');

    const cliStats = JSON.parse(await harness.cli('metrics', 'stats', ws.id, '--json'));
    assert.equal(cliStats.stats.workspace_id, ws.id);
    const cliInfo = JSON.parse(await harness.cli('metrics', 'info', ws.id, '--json'));
    assert.equal(cliInfo.info.driver, 'ns');
    const cliConfig = JSON.parse(await harness.cli('metrics', 'config', ws.id, '--json'));
    assert.equal(cliConfig.config.memory_mb, 256);
  } finally {
    await client.workspaces.delete(ws.id);
  }
});

test('/metrics: Prometheus text with the workspaces and the histograms; admin key or metrics token, else 401', async () => {
  const a = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  const b = await client.workspaces.create({ image: 'debian-12', memory_mb: 256 });
  try {
    const rt = await openRuntime(client, server, a.id); // a policy change and a gateway exec
    await sh(rt, 'true');
    await api(server, 'GET', `/workspace/${a.id}/stats`);
    await client.workspaces.stop(b.id);
    await waitForStatus(server, b.id, 'stopped');

    const anon = await fetch(`${server.url}/metrics`);
    assert.equal(anon.status, 401);
    const anonBody: any = await anon.json();
    assert.equal(anonBody.success, false);
    assert.equal(anonBody.code, 'unauthorized');
    for (const headers of [{ authorization: 'Bearer wrong-token' }, { 'x-client-id': ADMIN.clientId, 'x-client-secret': 'nope' }]) {
      assert.equal((await fetch(`${server.url}/metrics`, { headers })).status, 401);
    }
    const byToken = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(byToken.status, 200);
    assert.match(byToken.headers.get('content-type') ?? '', /^text\/plain/);
    parsePrometheusText(await byToken.text());

    const res = await fetch(`${server.url}/metrics`, { headers: { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret } });
    assert.equal(res.status, 200);
    const fams = parsePrometheusText(await res.text());
    const samples = (name: string) => [...fams.values()].flatMap((f) => f.samples).filter((s) => s.name === name);
    for (const g of ['cpu_seconds_total', 'memory_bytes', 'memory_limit_bytes', 'disk_used_bytes', 'disk_limit_bytes',
      'network_rx_bytes_total', 'network_tx_bytes_total', 'pids']) {
      const ids = samples(`warren_workspace_${g}`).map((s) => s.labels.workspace_id);
      assert.ok(ids.includes(a.id), `warren_workspace_${g} has the running workspace`);
      assert.ok(!ids.includes(b.id), `warren_workspace_${g} leaves the stopped one out`);
    }
    assert.equal(samples('warren_workspace_memory_limit_bytes').find((s) => s.labels.workspace_id === a.id)!.value, 256 * 1024 * 1024);
    assert.ok(samples('warren_workspaces').find((s) => s.labels.state === 'running')!.value >= 1);
    assert.ok(samples('warren_workspaces').find((s) => s.labels.state === 'stopped')!.value >= 1);
    const routes = new Set(samples('warren_http_request_duration_seconds_count').map((s) => s.labels.route));
    assert.ok(routes.has('/workspace/:id/stats'), [...routes].join(' '));
    assert.ok(![...routes].some((r) => r!.includes('ws_')), 'route patterns, never raw paths');
    const sum = (name: string) => samples(name).reduce((n, s) => n + s.value, 0);
    assert.ok(sum('warren_gateway_exec_duration_seconds_count') >= 1);
    assert.ok(sum('warren_network_policy_apply_seconds_count') >= 1);
    assert.ok(fams.get('warren_image_build_seconds')?.type === 'histogram');
    assert.ok(samples('process_cpu_user_seconds_total').length === 1, 'default process metrics');
  } finally {
    await client.workspaces.delete(a.id);
    await client.workspaces.delete(b.id);
  }
});

test('network counters follow a 20 MiB transfer over a private link, both ways round', async () => {
  const target = await client.workspaces.create({ image: 'node-20', memory_mb: 256, name: 'net-target' });
  const caller = await client.workspaces.create({ image: 'node-20', memory_mb: 256, name: 'net-caller' });
  try {
    await client.workspaces.network.update(target.id, { private_link_ids: [caller.id] });
    await client.workspaces.workloads.create(target.id, {
      name: 'sink', cmd: ['node', '-e', "require('net').createServer((s) => s.resume()).listen(7000)"],
    });
    const ip = (await api(server, 'GET', `/workspace/${target.id}`)).body.workspace.ip as string;
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const before = { t: (await api(server, 'GET', `/workspace/${target.id}/stats`)).body, c: (await api(server, 'GET', `/workspace/${caller.id}/stats`)).body };
    const rt = await openRuntime(client, server, caller.id);
    const send = "const s = require('net').connect(7000, process.argv[1], () => { s.end(Buffer.alloc(20 * 1048576)); });"
      + " s.on('close', () => console.log('sent')); s.on('error', (e) => { console.log('err ' + e.code); process.exit(1); });";
    let out = '';
    for (let i = 0; i < 50 && out !== 'sent\n'; i++) { // the sink may still be starting
      out = (await rt.exec.run(['node', '-e', send, ip], { timeoutSeconds: 60 })).stdout;
      if (out !== 'sent\n') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(out, 'sent\n');
    const MiB = 1024 * 1024;
    const after = { t: (await api(server, 'GET', `/workspace/${target.id}/stats`)).body, c: (await api(server, 'GET', `/workspace/${caller.id}/stats`)).body };
    assert.ok(after.t.network.rx - before.t.network.rx >= 20 * MiB, `target received ${after.t.network.rx - before.t.network.rx}`);
    assert.ok(after.c.network.tx - before.c.network.tx >= 20 * MiB, `caller sent ${after.c.network.tx - before.c.network.tx}`);
    assert.ok(after.c.network.rx - before.c.network.rx < 5 * MiB, 'the caller received little');
  } finally {
    await client.workspaces.delete(caller.id).catch(() => undefined);
    await client.workspaces.delete(target.id).catch(() => undefined);
  }
});
