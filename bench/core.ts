/**
 * Core benchmarks (issue: Warren core):
 * - create_to_first_exec: the official client's create → apiAccess.enable → first `exec true`
 *   answered through the gateway, with the warm pool on (default size) and a ready sandbox
 *   waiting, over N (100) workspaces; baseline: a bare bwrap sandbox of `true` on the same image,
 *   in the same run.
 * - cold_start_no_pool: the same with the warm pool off (every create boots a sandbox), COLD_N (50).
 * - idle_workspace_memory: memory charged to each idle workspace's memory cgroup (agent
 *   included) after they settle; baseline: RSS of a bare Node HTTP server on the host (what the
 *   agent costs before any sandboxing).
 * - idle_workspace_pss: the same workspaces measured by PSS of their processes, which counts
 *   a share of the Node binary's pages that the memcg charge leaves to whoever touched them first.
 * Targets (aimed at, not tested): pooled p50 ≤ 50 ms, p95 ≤ 120 ms; cold ≤ 150 ms; ≤ 16 MiB per idle workspace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Oblien, { Runtime } from 'oblien';
import { api, startServer, type TestServer } from '../test/support/warren.js';
import { adminClient } from '../test/support/workspaces.js';
import { ensureTestImages, testImageStore } from '../test/support/images.js';
import { instanceIdFor } from '../src/config/load.js';
import { result, type BenchResult } from './stats.js';

const N = Number(process.env.BENCH_N ?? 100);
/** Cold creates (pool off); they also make the idle workspaces whose memory is measured. */
const COLD_N = Number(process.env.BENCH_COLD_N ?? 50);
const POOL_SIZE = Number(process.env.BENCH_POOL_SIZE ?? 2);

function bareSandboxMs(rootfs: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bwrap', ['--unshare-all', '--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--cap-drop', 'ALL', 'true']);
  if (r.status !== 0) throw new Error(`bare bwrap failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** RSS of a bare Node HTTP server on the host, one second after it listens (MiB). */
export async function hostNodeServerRssMiB(): Promise<number> {
  const child = spawn(process.execPath, ['-e', "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',()=>console.log('up'))"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  await new Promise((r) => setTimeout(r, 1000));
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  child.kill('SIGKILL');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Proportional set size of every process of a workspace: unlike the memcg charge it
 * includes a fair share of pages shared with other workspaces (the Node binary).
 */
function cgroupPssMiB(cgroupDir: string): number {
  let kb = 0;
  for (const pid of procsUnder(cgroupDir)) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // the process exited between listing and reading
    }
  }
  return kb / 1024;
}

/** PIDs of a cgroup and of every group below it (the agent sits in a child group of the workspace's). */
function procsUnder(dir: string): string[] {
  const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) pids.push(...procsUnder(join(dir, e.name)));
  }
  return pids;
}

/** create → enable → first `exec true` through the gateway, with the official client; ms. */
async function createToFirstExec(client: InstanceType<typeof Oblien>, server: TestServer, ids: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  const ws: any = await client.workspaces.create({
    image: 'debian-12', memory_mb: 128, disk_size_mb: 64, config: { network_config: { public_ingress: true } },
  } as any);
  ids.push(ws.id);
  if (ws.status !== 'running') throw new Error(`create answered ${ws.status}`);
  const { token } = await client.workspaces.apiAccess.enable(ws.id);
  const res = await new Runtime({ token: token ?? "", baseUrl: server.url }).exec.run(['true']);
  if (res.exit_code !== 0) throw new Error('exec true failed');
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The warm pool's ready count, from GET /metrics. */
async function poolReady(server: TestServer): Promise<number> {
  const text = (await api(server, 'GET', '/metrics')).text;
  return Number(/^warren_warm_pool_ready (\d+)/m.exec(text)?.[1] ?? 0);
}

async function untilPoolReady(server: TestServer, n: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await poolReady(server)) < n) {
    if (Date.now() > deadline) throw new Error('the warm pool did not refill within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Each timed create finds a ready sandbox (the wait for the refill is not timed): what a
 * create costs when the pool is doing its job. A burst larger than the pool pays cold
 * boots past the pool's size; `cold_start_no_pool` is that cost.
 */
async function pooledCreates(ids: string[]): Promise<number[]> {
  const server = await startServer({ env: { WARREN_WARM_POOL: String(POOL_SIZE) } });
  try {
    const client = adminClient(server);
    await createToFirstExec(client, server, ids); // teaches the pool the image (a cold boot, not counted)
    const times: number[] = [];
    for (let i = 0; i < N; i++) {
      await untilPoolReady(server, POOL_SIZE);
      times.push(await createToFirstExec(client, server, ids));
      // Not timed; keeps the host's running pool (cpus) from filling over N creates.
      await client.workspaces.delete(ids.pop()!);
    }
    return times;
  } finally {
    await server.stop();
  }
}

export async function coreBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const pooled = await pooledCreates([]);
  const server = await startServer();
  try {
    const client = adminClient(server);
    const times: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < COLD_N; i++) times.push(await createToFirstExec(client, server, ids));
    const debian = testImageStore();
    const [rootfs] = debian.layerDirs(await debian.ensure('debian-12')); // debian-12 is one layer
    const baseline = Array.from({ length: COLD_N }, () => bareSandboxMs(rootfs!));

    await new Promise((r) => setTimeout(r, 5000));
    const inst = instanceIdFor(server.dataDir);
    const mem: number[] = [];
    const parent = `/sys/fs/cgroup/memory/warren-${inst}`;
    for (const dir of spawnSync('ls', [parent], { encoding: 'utf8' }).stdout.split('\n').filter((x) => /^[0-9a-f]{8}$/.test(x))) {
      mem.push(Number(readFileSync(join(parent, dir, 'memory.usage_in_bytes'), 'utf8')) / (1024 * 1024));
    }
    const pss: number[] = [];
    for (const dir of spawnSync('ls', [parent], { encoding: 'utf8' }).stdout.split('\n').filter((x) => /^[0-9a-f]{8}$/.test(x))) {
      pss.push(cgroupPssMiB(join(parent, dir)));
    }
    const nodeRss = await hostNodeServerRssMiB();
    for (const id of ids) await api(server, 'DELETE', `/workspace/${id}`);
    return [
      result('create_to_first_exec', 'ms', pooled, 'bare bwrap sandbox running true (same image)', baseline),
      result('cold_start_no_pool', 'ms', times, 'bare bwrap sandbox running true (same image)', baseline),
      result('idle_workspace_memory', 'MiB', mem, 'RSS of a bare Node HTTP server on the host', [nodeRss]),
      result('idle_workspace_pss', 'MiB', pss, 'RSS of a bare Node HTTP server on the host', [nodeRss]),
    ];
  } finally {
    await server.stop();
  }
}
