/**
 * Scale benchmarks (issue 14: costs as the host fills), one server, one run:
 * - create_to_first_exec_at_500: create → enable → first `exec true` through the gateway
 *   (official client), one at a time, BENCH_AT_RUNS (30) times with BENCH_AT_N (500)
 *   workspaces already running; baseline: the same measure on the empty host first.
 * - density: BENCH_DENSITY_N (1000) workspaces created BENCH_SCALE_PARALLEL (6) at a time,
 *   each enabled and answering `exec true`; per workspace the memory charged to its memory
 *   cgroup (hierarchical usage, agent included) p50/p95; baseline: RSS of a bare Node HTTP
 *   server on the host (the agent is a Node HTTP server; Warren adds the sandbox around it).
 *   `n` is the count reached: a create that fails stops the fill and its reason is printed.
 * Prints the host's MemAvailable before/after the fill, the server's RSS, and the create
 * time per hundred workspaces (what grows with N). Everything is deleted by server.stop().
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Oblien, { Runtime } from 'oblien';
import { ADMIN, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { instanceIdFor } from '../src/config/load.js';
import { hostNodeServerRssMiB } from './core.js';
import { percentile, result, type BenchResult } from './stats.js';

const DENSITY_N = Number(process.env.BENCH_DENSITY_N ?? 1000);
const AT_N = Number(process.env.BENCH_AT_N ?? 500);
const AT_RUNS = Math.max(1, Number(process.env.BENCH_AT_RUNS ?? 30));
const PARALLEL = Number(process.env.BENCH_SCALE_PARALLEL ?? 6);
const MiB = 1024 * 1024;

export const SCALE_BENCHMARKS = ['density', 'create_to_first_exec_at_500'] as const;
type Client = InstanceType<typeof Oblien>;

/** create → enable → first `exec true` through the gateway; ms. */
async function createToFirstExec(client: Client, server: TestServer): Promise<number> {
  const t0 = process.hrtime.bigint();
  const ws = await client.workspaces.create({ image: 'debian-12', memory_mb: 128, disk_size_mb: 64, config: { network_config: { public_ingress: true } } });
  const { token } = await client.workspaces.apiAccess.enable(ws.id);
  if (!token) throw new Error(`apiAccess.enable(${ws.id}) gave no token`);
  const r = await new Runtime({ token, baseUrl: server.url }).exec.run(['true']);
  if (r.exit_code !== 0) throw new Error(`exec true failed in ${ws.id}: ${JSON.stringify(r)}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Fills the host up to `target` workspaces, PARALLEL at a time; stops at the first failure. */
async function fill(client: Client, server: TestServer, state: FillState, target: number): Promise<void> {
  const worker = async () => {
    while (!state.failure && state.started < target) {
      state.started++;
      try {
        state.times.push(await createToFirstExec(client, server));
        state.count++;
        if (state.count % 100 === 0) report(state, server);
      } catch (err) {
        state.failure ??= `create #${state.started} failed: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

interface FillState { started: number; count: number; times: number[]; failure: string | null }

function report(state: FillState, server: TestServer): void {
  const last = state.times.slice(-100);
  console.log(`density: ${state.count} up; last 100 creates p50 ${percentile(last, 50).toFixed(0)} ms ` +
    `(${PARALLEL} in parallel); server RSS ${rssMiB(server.proc.pid!).toFixed(0)} MiB; MemAvailable ${memAvailableMiB().toFixed(0)} MiB`);
}

/** p50 of compile_ms / apply_ms over the server's last `n` "network policy applied" log lines. */
function policySyncs(server: TestServer, n: number): string {
  const lines = server.logs.filter((l) => l.includes('network policy applied')).slice(-n)
    .map((l) => JSON.parse(l) as { compile_ms: number; apply_ms: number });
  return `${percentile(lines.map((l) => l.compile_ms), 50)} / ${percentile(lines.map((l) => l.apply_ms), 50)} ms`;
}

function memAvailableMiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** Hierarchical memcg usage of every workspace cgroup of the instance (MiB each). */
function chargedMiB(server: TestServer): number[] {
  const parent = `/sys/fs/cgroup/memory/warren-${instanceIdFor(server.dataDir)}`;
  return readdirSync(parent).filter((x) => /^[0-9a-f]{8}$/.test(x))
    .map((dir) => Number(readFileSync(join(parent, dir, 'memory.usage_in_bytes'), 'utf8')) / MiB);
}

/** The server's CPU time over 30 s with nothing asked of it (% of one core): its background work at this size. */
async function idleCpuPercent(pid: number): Promise<number> {
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 a second)
  };
  const before = ticks();
  await new Promise((r) => setTimeout(r, 30_000));
  return (ticks() - before) / 30;
}

/** Deletes every workspace through the API, `parallel` at a time (server.stop() then purges what is left). */
async function deleteAll(client: Client, parallel: number): Promise<void> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const { workspaces } = await client.workspaces.list({ page, limit: 100 });
    ids.push(...workspaces.map((w) => w.id));
    if (workspaces.length < 100) break;
  }
  await Promise.all(Array.from({ length: parallel }, async () => {
    for (let id = ids.pop(); id !== undefined; id = ids.pop()) await client.workspaces.delete(id);
  }));
}

async function serially(n: number, client: Client, server: TestServer, state: FillState): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    state.started++;
    out.push(await createToFirstExec(client, server));
    state.count++;
  }
  return out;
}

export async function scaleBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const big = String(10_000_000);
  // A /21 holds 2,045 workspaces; quotas are lifted so that only the host can say no.
  const server = await startServer({
    subnet: '10.197.0.0/21',
    env: { WARREN_RATE_LIMIT: '0', WARREN_MAX_WORKSPACES: String(DENSITY_N + AT_RUNS * 2 + 10), WARREN_POOL_CPUS: big, WARREN_RUNNING_CPUS: big,
      WARREN_POOL_MEMORY_MB: big, WARREN_RUNNING_MEMORY_MB: big, WARREN_POOL_DISK_MB: big, WARREN_RUNNING_DISK_MB: big },
  });
  const client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
  const state: FillState = { started: 0, count: 0, times: [], failure: null };
  try {
    const memBefore = memAvailableMiB();
    const empty = await serially(AT_RUNS, client, server, state);
    const emptySync = policySyncs(server, AT_RUNS * 2);
    await fill(client, server, state, AT_N);
    const running = state.count;
    const atN = state.failure ? [] : await serially(AT_RUNS, client, server, state);
    console.log(`create_to_first_exec_at_${AT_N}: ${running} running before the last ${atN.length}; empty host p50 ${percentile(empty, 50).toFixed(0)} ms; ` +
      `network policy sync inside the server (compile / kernel apply p50): empty ${emptySync}, at ${AT_N} ${policySyncs(server, AT_RUNS * 2)}`);
    await fill(client, server, state, DENSITY_N);
    if (state.failure) console.log(`density: stopped at ${state.count} workspaces: ${state.failure}`);
    await new Promise((r) => setTimeout(r, 5000)); // the last ones settle
    const mem = chargedMiB(server);
    const memAfter = memAvailableMiB();
    console.log(`density: ${state.count} running (${mem.length} memory cgroups); MemAvailable ${memBefore.toFixed(0)} → ${memAfter.toFixed(0)} MiB ` +
      `(${((memBefore - memAfter) / Math.max(1, state.count)).toFixed(1)} MiB per workspace); server RSS ${rssMiB(server.proc.pid!).toFixed(0)} MiB`);
    console.log(`density: server CPU while idle at ${state.count}: ${(await idleCpuPercent(server.proc.pid!)).toFixed(1)} % of one core over 30 s`);
    const nodeRss = await hostNodeServerRssMiB();
    return [
      result('density', 'MiB', mem, `RSS of a bare Node HTTP server on the host; count reached ${state.count} of ${DENSITY_N}`, [nodeRss]),
      ...(atN.length ? [result('create_to_first_exec_at_500', 'ms', atN, `the same on the empty host, same run (n = ${empty.length}); ${AT_N} running`, empty)] : []),
    ];
  } finally {
    const t0 = Date.now();
    await deleteAll(client, PARALLEL).catch((err) => console.log(`scale: deleting through the API failed (${String(err)}); purge takes the rest`));
    await server.stop();
    console.log(`scale: server stopped and purged in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
