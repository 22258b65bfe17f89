/**
 * Lifecycle benchmarks (issue: snapshots, fork, pause, idle sleep), on real servers
 * through the official client, each with a baseline measured in the same run:
 * - pause_10 / resume_10, pause_100 / resume_100 (`pause_resume_10`, `pause_resume_100`):
 *   `client.workspaces.pause` / `resume` of a workspace running 10 / 100 sleep loops
 *   (`sleep 0.2` each round: LOOP_SLEEP_S), BENCH_PAUSE_N (30) cycles. Baseline: FROZEN /
 *   THAWED written by hand to a freezer cgroup of our own holding as many host sleep loops
 *   (cpu capped at 1 CPU, as the workspace is), until freezer.state reads it. Target ≤ 10 ms
 *   each way.
 * - snapshot_100m, snapshot_1g, restore_100m, restore_1g: MiB/s (higher is better) of
 *   `snapshots.create` / `snapshots.restore` of a workspace whose layer holds 100 MiB /
 *   1 GiB of random data (data MiB / seconds of the call), BENCH_SNAP_RUNS (5) runs, on
 *   the default copy-on-write storage; the same with `_copy` on WARREN_STORAGE=copy
 *   (streamed sparse copies). Baseline: `tar -C dir -cf file .` of a host directory
 *   holding the same amount of random data. Target ≥ 1× tar; copy-on-write far above.
 * - exec_during_snapshot: p95 of `exec true` on workspace B in a tight loop while a 1 GiB
 *   snapshot of workspace A runs (copy storage: seconds), BENCH_SNAP_RUNS snapshots.
 *   Baseline: the same loop on B, idle, for as long, just before. Target p95 ≤ 2× idle
 *   p95 (results.json keeps the idle p95 in the baseline text; both are printed).
 * - fork_10: `POST /workspace/:id/fork {count:10}` → all ten forks answer `exec true`
 *   through the gateway (public_access + apiAccess.enable each), source holding 1 GiB,
 *   BENCH_FORK_RUNS (3) runs. Baseline: 10 fresh workspaces created in parallel along the
 *   same create → enable → exec path. Target ≤ 1000 ms (CubeSandbox clones in 220 ms).
 * - wake_on_request: first byte (status line) of a gateway `GET /health` with the
 *   workspace's token to a workspace the idle policy put to sleep (suspend_after 1 s,
 *   WARREN_IDLE_MIN_SECONDS=1), BENCH_WAKE_N (20) requests. Baseline: the same request
 *   while awake. Target ≤ 50 ms.
 * `npm run bench -- fork_10` runs only the group of the named benchmark.
 */
import Oblien from 'oblien';
import { ADMIN, api, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { percentile, result, type BenchResult } from './stats.js';
import {
  checkBlob, countBusyLoops, execOk, firstExec, hostFreezerCycles, hostTarMiBs, newWorkspace, startBusyLoops,
  timed, waitUntil, workspaceStatus, writeBlob, type Client, type Ws,
} from './lifecycle-helpers.js';

const PAUSE_N = Number(process.env.BENCH_PAUSE_N ?? 30);
const SNAP_RUNS = Number(process.env.BENCH_SNAP_RUNS ?? 5);
const FORK_RUNS = Number(process.env.BENCH_FORK_RUNS ?? 3);
const WAKE_N = Number(process.env.BENCH_WAKE_N ?? 20);
const FORKS = 10;

/** Benchmark (and result) names → the group that measures them. */
const GROUP_OF = {
  pause_resume_10: 'pause', pause_resume_100: 'pause', pause_10: 'pause', resume_10: 'pause', pause_100: 'pause', resume_100: 'pause',
  snapshot_100m: 'snapshot', snapshot_1g: 'snapshot', restore_100m: 'snapshot', restore_1g: 'snapshot',
  snapshot_100m_copy: 'snapshot_copy', snapshot_1g_copy: 'snapshot_copy', restore_100m_copy: 'snapshot_copy', restore_1g_copy: 'snapshot_copy',
  exec_during_snapshot: 'exec_during_snapshot', fork_10: 'fork', wake_on_request: 'wake',
} as const;
export const LIFECYCLE_BENCHMARKS = Object.keys(GROUP_OF);
type Group = (typeof GROUP_OF)[keyof typeof GROUP_OF];

/** One server and what the groups on it share (blob workspaces, keyed by MiB). */
interface Ctx { server: TestServer; client: Client; blobs: Map<number, Promise<Ws>>; copyOnWrite: boolean }

/** host tar baselines, shared by both storage modes (same run). */
const tarRates = new Map<number, number[]>();
function tarBaseline(mib: number): number[] {
  if (!tarRates.has(mib)) tarRates.set(mib, hostTarMiBs(mib, SNAP_RUNS));
  return tarRates.get(mib)!;
}

/** A workspace whose writable layer holds `mib` MiB of random data in /root/blob (made once per server). */
function blobWorkspace(ctx: Ctx, mib: number): Promise<Ws> {
  if (!ctx.blobs.has(mib)) {
    ctx.blobs.set(mib, newWorkspace(ctx.client, ctx.server).then(async (ws) => {
      await writeBlob(ws.rt, mib);
      return ws;
    }));
  }
  return ctx.blobs.get(mib)!;
}

async function pauseResume(ctx: Ctx): Promise<BenchResult[]> {
  const ws = await newWorkspace(ctx.client, ctx.server);
  try {
    const out: BenchResult[] = [];
    for (const [procs, more] of [[10, 10], [100, 90]] as const) {
      await startBusyLoops(ws.rt, more);
      out.push(...(await pauseCycles(ctx, ws, procs)));
    }
    return out;
  } finally {
    // Its loops would load the benchmarks after it; if this fails, server.stop() purges it.
    await ctx.client.workspaces.delete(ws.id).catch(() => undefined);
  }
}

/** PAUSE_N pause/resume cycles of a workspace running `procs` sleep loops, then the host baseline. */
async function pauseCycles(ctx: Ctx, ws: Ws, procs: number): Promise<BenchResult[]> {
  const before = await countBusyLoops(ws.rt);
  if (before !== procs) throw new Error(`${before} sleep loops run in the workspace, want ${procs}`);
  const pause: number[] = [];
  const resume: number[] = [];
  for (let i = 0; i < PAUSE_N; i++) {
    pause.push(await timed(() => ctx.client.workspaces.pause(ws.id)));
    const status = await workspaceStatus(ctx.server, ws.id);
    if (status !== 'paused') throw new Error(`after pause the workspace is ${status}`);
    resume.push(await timed(() => ctx.client.workspaces.resume(ws.id)));
  }
  const after = await countBusyLoops(ws.rt);
  if (after !== procs) throw new Error(`${after} sleep loops survive ${PAUSE_N} pause/resume cycles, want ${procs}`);
  const host = await hostFreezerCycles(procs, PAUSE_N);
  const what = `${procs} host sleep loops in a freezer cgroup of our own (cpu capped at 1 as the workspace)`;
  return [
    result(`pause_${procs}`, 'ms', pause, `write FROZEN → reads FROZEN, ${what}`, host.freeze),
    result(`resume_${procs}`, 'ms', resume, `write THAWED → reads THAWED, ${what}`, host.thaw),
  ];
}

/** snapshots.create then snapshots.restore of the blob workspace, SNAP_RUNS times, in MiB/s. */
async function snapshotRates(ctx: Ctx, mib: number): Promise<{ snap: number[]; restore: number[]; frozen: number[] }> {
  const ws = await blobWorkspace(ctx, mib);
  const snap: number[] = [];
  const restore: number[] = [];
  const frozen: number[] = [];
  for (let i = 0; i < SNAP_RUNS; i++) {
    let made: { copy_on_write?: boolean; frozen_ms?: number } | undefined;
    snap.push(mib / ((await timed(async () => {
      made = ((await ctx.client.workspaces.snapshots.create(ws.id, {})) as { snapshot?: typeof made }).snapshot;
    })) / 1000));
    if (made?.copy_on_write !== ctx.copyOnWrite) throw new Error(`snapshot copy_on_write is ${made?.copy_on_write}, want ${ctx.copyOnWrite}`);
    frozen.push(made.frozen_ms ?? NaN);
    restore.push(mib / ((await timed(() => ctx.client.workspaces.snapshots.restore(ws.id))) / 1000));
  }
  await checkBlob(ws.rt, mib); // the restored layer still holds the data (and the workspace runs)
  return { snap, restore, frozen };
}

async function snapshots(ctx: Ctx, suffix: string): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const [mib, label] of [[100, '100m'], [1024, '1g']] as const) {
    const r = await snapshotRates(ctx, mib);
    const base = `host \`tar -C dir -cf file .\` of ${label === '1g' ? '1 GiB' : '100 MiB'} of random data (MiB/s; higher is better)`;
    console.log(`snapshot_${label}${suffix}: workspace frozen p50 ${percentile(r.frozen, 50)} ms per snapshot`);
    out.push(
      result(`snapshot_${label}${suffix}`, 'MiB/s', r.snap, base, tarBaseline(mib)),
      result(`restore_${label}${suffix}`, 'MiB/s', r.restore, base, tarBaseline(mib)),
    );
  }
  return out;
}

/** `exec true` on `rt` back to back until `done()`; latencies in ms. */
async function execLoop(ws: Ws, done: () => boolean): Promise<number[]> {
  const times: number[] = [];
  while (!done()) times.push(await timed(() => execOk(ws.rt, ['true'])));
  return times;
}

async function execDuringSnapshot(ctx: Ctx): Promise<BenchResult[]> {
  const a = await blobWorkspace(ctx, 1024);
  const b = await blobWorkspace(ctx, 100);
  await execLoop(b, ((n) => () => n-- <= 0)(20)); // warm-up
  const idle: number[] = [];
  const during: number[] = [];
  let window = 3000; // the idle loop runs as long as the previous snapshot took
  for (let i = 0; i < SNAP_RUNS; i++) {
    const idleEnd = Date.now() + window;
    idle.push(...(await execLoop(b, () => Date.now() >= idleEnd)));
    let settled = false;
    const t0 = Date.now();
    const snap = ctx.client.workspaces.snapshots.create(a.id, {}).finally(() => { settled = true; });
    during.push(...(await execLoop(b, () => settled)));
    await snap;
    window = Date.now() - t0;
  }
  const p95 = percentile(during, 95);
  const idleP95 = percentile(idle, 95);
  console.log(`exec_during_snapshot: p95 ${p95.toFixed(2)} ms during a 1 GiB copy snapshot (${during.length} calls), idle p95 ${idleP95.toFixed(2)} ms (${idle.length} calls): ${(p95 / idleP95).toFixed(2)}× (target ≤ 2×)`);
  return [result('exec_during_snapshot', 'ms', during, `the same exec loop on B while idle, just before (idle p95 ${idleP95.toFixed(2)} ms)`, idle)];
}

/** Time until the workspaces `start()` makes all answer `exec true` through the gateway (and until `start()` answered). */
async function tenAnswering(ctx: Ctx, start: () => Promise<string[]>): Promise<{ ms: number; startMs: number; all: Ws[] }> {
  let all: Ws[] = [];
  let startMs = 0;
  const ms = await timed(async () => {
    let ids: string[] = [];
    startMs = await timed(async () => { ids = await start(); });
    all = await Promise.all(ids.map((id) => firstExec(ctx.client, ctx.server, id)));
  });
  if (all.length !== FORKS) throw new Error(`${all.length} workspaces, want ${FORKS}`);
  return { ms, startMs, all };
}

async function fork(ctx: Ctx): Promise<BenchResult[]> {
  const src = await blobWorkspace(ctx, 1024);
  const forked: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < FORK_RUNS; i++) {
    const f = await tenAnswering(ctx, async () => {
      const res = await api(ctx.server, 'POST', `/workspace/${src.id}/fork`, { count: FORKS });
      if (res.status !== 201) throw new Error(`fork answered ${res.status}: ${res.text}`);
      return (res.body.workspaces as Array<{ id: string }>).map((w) => w.id);
    });
    forked.push(f.ms);
    await checkBlob(f.all[0]!.rt, 1024); // a fork holds the source's data
    await Promise.all(f.all.map((w) => ctx.client.workspaces.delete(w.id)));
    const c = await tenAnswering(ctx, () => Promise.all(Array.from({ length: FORKS }, async () =>
      (await ctx.client.workspaces.create({ image: 'debian-12', memory_mb: 256, disk_size_mb: 2048 })).id)));
    fresh.push(c.ms);
    await Promise.all(c.all.map((w) => ctx.client.workspaces.delete(w.id)));
    console.log(`fork_10 run ${i + 1}: fork answered in ${f.startMs.toFixed(0)} ms, all answering in ${f.ms.toFixed(0)} ms; `
      + `${FORKS} creates answered in ${c.startMs.toFixed(0)} ms, all answering in ${c.ms.toFixed(0)} ms`);
  }
  return [result('fork_10', 'ms', forked, `${FORKS} fresh workspaces created in parallel (create → enable → exec true)`, fresh)];
}

async function wake(ctx: Ctx): Promise<BenchResult[]> {
  const ws = await newWorkspace(ctx.client, ctx.server);
  const put = await api(ctx.server, 'PUT', `/workspace/${ws.id}/lifecycle/idle`, { suspend_after: 1 });
  if (put.status !== 200) throw new Error(`idle policy answered ${put.status}: ${put.text}`);
  /** Time to the status line of a gateway GET /health (forwarded to the workspace with a token). */
  const firstByte = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${ctx.server.url}/health`, { headers: { authorization: `Bearer ${ws.token}` } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const text = await res.text();
    if (res.status !== 200) throw new Error(`gateway /health answered ${res.status}: ${text}`);
    return ms;
  };
  const asleep = async () => (await workspaceStatus(ctx.server, ws.id)) === 'paused'
    && (await api(ctx.server, 'GET', `/workspace/${ws.id}/lifecycle`)).body?.sleeping === true;
  await firstByte(); // warm-up; back-to-back requests keep it awake (suspend_after is 1 s)
  const awake: number[] = [];
  for (let i = 0; i < WAKE_N; i++) awake.push(await firstByte());
  const woken: number[] = [];
  for (let i = 0; i < WAKE_N; i++) {
    await waitUntil(`workspace ${ws.id} asleep`, asleep, 30_000);
    woken.push(await firstByte());
    const status = await workspaceStatus(ctx.server, ws.id);
    if (status !== 'running') throw new Error(`after the waking request the workspace is ${status}`);
  }
  await ctx.client.workspaces.delete(ws.id);
  return [result('wake_on_request', 'ms', woken, 'the same gateway request to the same workspace while awake', awake)];
}

const RUNNERS: Record<Group, { storage: 'default' | 'copy'; run: (ctx: Ctx) => Promise<BenchResult[]> }> = {
  pause: { storage: 'default', run: pauseResume },
  wake: { storage: 'default', run: wake },
  snapshot: { storage: 'default', run: (ctx) => snapshots(ctx, '') },
  fork: { storage: 'default', run: fork },
  snapshot_copy: { storage: 'copy', run: (ctx) => snapshots(ctx, '_copy') },
  exec_during_snapshot: { storage: 'copy', run: execDuringSnapshot },
};

async function onServer(storage: 'default' | 'copy', groups: Group[], out: BenchResult[], failures: string[]): Promise<void> {
  const env: Record<string, string> = storage === 'copy' ? { WARREN_STORAGE: 'copy' } : { WARREN_IDLE_MIN_SECONDS: '1' };
  const server = await startServer({ env });
  try {
    const client = new Oblien({ clientId: ADMIN.clientId, clientSecret: ADMIN.clientSecret, baseUrl: server.url });
    const ctx: Ctx = { server, client, blobs: new Map(), copyOnWrite: storage === 'default' };
    for (const g of groups) {
      try {
        out.push(...(await RUNNERS[g].run(ctx)));
      } catch (err) {
        failures.push(`${g}: ${(err as Error).message}`);
      }
    }
  } finally {
    await server.stop();
  }
}

export async function lifecycleBenchmarks(): Promise<BenchResult[]> {
  const asked = process.argv.slice(2).filter((a): a is keyof typeof GROUP_OF => a in GROUP_OF);
  const groups = (Object.keys(RUNNERS) as Group[]).filter((g) => asked.length === 0 || asked.some((a) => GROUP_OF[a] === g));
  await ensureTestImages(['debian-12']);
  const out: BenchResult[] = [];
  const failures: string[] = [];
  for (const storage of ['default', 'copy'] as const) {
    const mine = groups.filter((g) => RUNNERS[g].storage === storage);
    if (mine.length > 0) await onServer(storage, mine, out, failures);
  }
  for (const f of failures) console.error(`benchmark not measured — ${f}`);
  if (out.length === 0 && failures.length > 0) throw new Error(`no lifecycle benchmark measured:\n${failures.join('\n')}`);
  return out;
}
