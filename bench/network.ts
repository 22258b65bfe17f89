/**
 * Network benchmarks (issue 5), on a real server with real workspaces:
 * - `policy_apply_1` / `policy_apply_500`: PATCH /network → the rule is in the kernel
 *   (the PATCH answers only once it is), with 1 and with BENCH_POLICY_N (500)
 *   workspaces' rules loaded (each with egress CIDRs, ingress ports and a private
 *   link, ≈ 8 elements). Baseline: the same element change made by hand with `nft`.
 * - `link_tcp_connect`: TCP connect latency between two linked workspaces (node in
 *   the caller, echo server in the target). Baseline: the same script on host loopback.
 * - `link_tcp_throughput`: MiB/s of a 512 MiB stream over the link; higher is better.
 *   Baseline: the same over host loopback.
 */
import { spawn, spawnSync } from 'node:child_process';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, api, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { instanceIdFor } from '../src/config/load.js';
import { physicalSet } from '../src/network/firewall-ruleset.js';
import { result, type BenchResult } from './stats.js';

export const NETWORK_BENCHMARKS = ['policy_apply_1', 'policy_apply_500', 'link_tcp_connect', 'link_tcp_throughput'];
const LOADED = Number(process.env.BENCH_POLICY_N ?? 500);
const APPLIES = Number(process.env.BENCH_APPLIES ?? 50);

const ECHO_JS = `require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(7000, '0.0.0.0');
require('net').createServer((s) => { let n = 0; s.on('data', (d) => { n += d.length; }); s.on('end', () => s.end(String(n))); }).listen(7001, '0.0.0.0');
setInterval(() => {}, 1 << 30);`;

/** Prints connect latencies (ms) of `n` sequential connects, then MiB/s of `mib` MiB sent. */
const CLIENT_JS = `const net = require('net'); const [host, n, mib] = process.argv.slice(1);
(async () => {
  const lat = [];
  for (let i = 0; i < +n; i++) {
    const t = process.hrtime.bigint();
    await new Promise((res, rej) => { const s = net.connect(7000, host, () => { lat.push(Number(process.hrtime.bigint() - t) / 1e6); s.destroy(); res(); }); s.on('error', rej); });
  }
  const chunk = Buffer.alloc(1 << 20); const t = process.hrtime.bigint();
  await new Promise((res, rej) => { const s = net.connect(7001, host, async () => {
    for (let i = 0; i < +mib; i++) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    s.end(); }); s.on('data', () => {}); s.on('end', res); s.on('error', rej); });
  console.log(JSON.stringify({ lat, mibs: +mib / (Number(process.hrtime.bigint() - t) / 1e9) }));
})();`;

type Client = InstanceType<typeof Oblien>;

async function runtimeFor(client: Client, server: TestServer, id: string) {
  await client.workspaces.network.update(id, { public_access: true });
  const { token } = await client.workspaces.apiAccess.enable(id);
  return new Runtime({ token, baseUrl: server.url });
}

async function timedPatches(server: TestServer, id: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < APPLIES; i++) {
    const egress = i % 2 === 0 ? ['198.51.100.0/24', '203.0.113.7'] : [];
    const t0 = performance.now();
    const res = await api(server, 'PATCH', `/workspace/${id}/network`, { egress });
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`PATCH failed: ${res.text}`);
  }
  return times;
}

function byHand(table: string, ip: string): number[] {
  const times: number[] = [];
  for (let i = 0; i < APPLIES; i++) {
    const verb = i % 2 === 0 ? 'add' : 'delete';
    const t0 = performance.now();
    const element = `${ip} . 198.51.100.0/24`;
    const r = spawnSync('nft', [verb, 'element', 'inet', table, physicalSet('egress_any', element), `{ ${element} }`]);
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(String(r.stderr));
  }
  return times;
}

async function createMany(server: TestServer, count: number, linkTo: string): Promise<void> {
  const queue = Array.from({ length: count }, (_, i) => i);
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const r = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { memory_mb: 128, disk_size_mb: 64 } });
      if (r.status !== 201) throw new Error(`create failed: ${r.text}`);
      await api(server, 'PUT', `/workspace/${r.body.workspace.id}/network`, {
        egress: [`198.51.${i % 250}.0/24`, '203.0.113.0/28', 'registry.npmjs.org'], egress_ports: [80, 443],
        ingress_ports: [9990, 3000], private_link_ids: [linkTo],
      });
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

async function hostLoopback(): Promise<{ lat: number[]; mibs: number }> {
  const server = spawn('node', ['-e', ECHO_JS.replace("'0.0.0.0'", "'127.0.0.1'").replace("'0.0.0.0'", "'127.0.0.1'")], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const c = spawnSync('node', ['-e', CLIENT_JS, '127.0.0.1', '200', '512'], { encoding: 'utf8' });
    return JSON.parse(c.stdout.trim());
  } finally {
    server.kill('SIGKILL');
  }
}

export async function networkBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['node-20', 'debian-12']);
  // A /22: room for BENCH_POLICY_N workspaces (a test server's /24 holds 253).
  const server = await startServer({ subnet: '10.198.0.0/22', env: { WARREN_MAX_WORKSPACES: String(LOADED + 10), WARREN_POOL_CPUS: '100000', WARREN_RUNNING_CPUS: '100000', WARREN_POOL_MEMORY_MB: '1000000', WARREN_RUNNING_MEMORY_MB: '1000000', WARREN_POOL_DISK_MB: '10000000', WARREN_RUNNING_DISK_MB: '10000000' } });
  const client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  try {
    const table = `warren_${instanceIdFor(server.dataDir)}`;
    const target = await client.workspaces.create({ image: 'node-20', memory_mb: 512 });
    const caller = await client.workspaces.create({ image: 'node-20', memory_mb: 512 });
    const apply1 = await timedPatches(server, target.id);
    const hand1 = byHand(table, (await client.workspaces.network.get(target.id)).ip);

    const targetRt = await runtimeFor(client, server, target.id);
    const callerRt = await runtimeFor(client, server, caller.id);
    await client.workspaces.network.update(target.id, { private_link_ids: [caller.id], ingress_ports: [] });
    await targetRt.exec.run(['sh', '-c', 'node -e "$0" > /tmp/echo.log 2>&1 &', ECHO_JS], { execMode: 'direct' } as never);
    await new Promise((r) => setTimeout(r, 1500));
    const targetIp = (await client.workspaces.network.get(target.id)).ip;
    const runs: Array<{ lat: number[]; mibs: number }> = [];
    for (let i = 0; i < 5; i++) {
      const res = await callerRt.exec.run(['node', '-e', CLIENT_JS, targetIp, '200', '512']);
      runs.push(JSON.parse(res.stdout.trim()));
    }
    const host: Array<{ lat: number[]; mibs: number }> = [];
    for (let i = 0; i < 5; i++) host.push(await hostLoopback());

    await createMany(server, LOADED - 2, caller.id);
    const apply500 = await timedPatches(server, caller.id);
    const hand500 = byHand(table, (await client.workspaces.network.get(caller.id)).ip);
    const elements = spawnSync('nft', ['-j', 'list', 'table', 'inet', table], { encoding: 'utf8' }).stdout.match(/"elem"|\{"concat"/g)?.length ?? 0;
    console.log(`policy_apply_500: ${LOADED} workspaces, ~${elements} set elements loaded`);
    const applied = server.logs.filter((l) => l.includes('network policy applied')).slice(-APPLIES)
      .map((l) => JSON.parse(l) as { compile_ms: number; apply_ms: number });
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    console.log(`policy_apply_500 inside the server: compile p50 ${med(applied.map((a) => a.compile_ms))} ms, kernel apply p50 ${med(applied.map((a) => a.apply_ms))} ms`);
    return [
      result('policy_apply_1', 'ms', apply1, 'the same element change by hand (nft add/delete element)', hand1),
      result('policy_apply_500', 'ms', apply500, `the same element change by hand, ${LOADED} workspaces loaded`, hand500),
      result('link_tcp_connect', 'ms', runs.flatMap((r) => r.lat), 'TCP connect over host loopback (same script)', host.flatMap((h) => h.lat)),
      result('link_tcp_throughput', 'MiB/s', runs.map((r) => r.mibs), 'the same 512 MiB stream over host loopback', host.map((h) => h.mibs)),
    ];
  } finally {
    await server.stop();
  }
}
