/**
 * Soak (issue 15 item 7), `npm run soak` or `npm run bench -- soak`: SOAK_MINUTES (10) of
 * steady create → apiAccess.enable → `exec true` → delete with the official client,
 * SOAK_IN_FLIGHT (2) cycles at a time, on one server (quotas and rate limit off). Every
 * SOAK_SAMPLE_SECONDS (10) the server process's RSS (/proc) and V8 heap in use (GET /metrics)
 * are sampled. After the warm-up (SOAK_WARMUP_MINUTES, default 2, at most a fifth of the run)
 * the least-squares slope of each is the figure: memory-flat means ≈ 0 MiB/min.
 * Any failed call stops the run at once and fails it loudly. At the end no workspace may be left.
 * - soak_rss_slope: MiB/min of RSS after warm-up; baseline: the memory-flat target (1 MiB/min).
 * - soak_heap_slope: the same for the V8 heap in use.
 * - soak_rss: RSS samples after warm-up (MiB); baseline: the first of them (first/last printed).
 */
import { ensureTestImages } from '../test/support/images.js';
import { adminClient } from '../test/support/workspaces.js';
import type { TestServer } from '../test/support/warren.js';
import {
  createRunning, envNumber, execTrue, heapUsedMiB, openFds, rssMiB, runtimeFor, slope, startLoadServer, type Client,
} from './load-support.js';
import { result, type BenchResult } from './stats.js';

export const SOAK_BENCHMARKS = ['soak_rss_slope', 'soak_heap_slope', 'soak_rss'] as const;

const MINUTES = envNumber('SOAK_MINUTES', 10);
const IN_FLIGHT = envNumber('SOAK_IN_FLIGHT', 2);
const SAMPLE_SECONDS = envNumber('SOAK_SAMPLE_SECONDS', 10);
const WARMUP_MINUTES = Math.min(envNumber('SOAK_WARMUP_MINUTES', 2), MINUTES / 5);
/** The memory-flat aim of bench/README.md. */
const FLAT_MIB_PER_MIN = 1;

interface Sample { minute: number; rss: number; heap: number; fds: number }

/** create → enable → exec true → delete, until `stopAt`; the first failure rejects (and stops the others). */
async function cycles(client: Client, server: TestServer, stopAt: number, state: { cycles: number; failed: Error | null }): Promise<void> {
  while (Date.now() < stopAt && !state.failed) {
    let id: string | undefined;
    try {
      id = await createRunning(client, server);
      await execTrue(await runtimeFor(client, server, id), id);
      await client.workspaces.delete(id);
      state.cycles++;
    } catch (err) {
      state.failed ??= new Error(`soak: cycle ${state.cycles + 1} failed${id ? ` (workspace ${id})` : ''}: ${err instanceof Error ? err.message : String(err)}`);
      throw state.failed;
    }
  }
}

async function sampler(server: TestServer, t0: number, stopAt: number, samples: Sample[], state: { failed: Error | null }): Promise<void> {
  for (;;) {
    const pid = server.proc.pid!;
    samples.push({ minute: (Date.now() - t0) / 60_000, rss: rssMiB(pid), heap: await heapUsedMiB(server), fds: openFds(pid) });
    const s = samples.at(-1)!;
    console.log(`soak: ${s.minute.toFixed(1)} min  RSS ${s.rss.toFixed(1)} MiB  heap ${s.heap.toFixed(1)} MiB  fds ${s.fds}`);
    if (Date.now() + SAMPLE_SECONDS * 1000 > stopAt || state.failed) return;
    await new Promise((r) => setTimeout(r, SAMPLE_SECONDS * 1000));
  }
}

export async function soakBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const server = await startLoadServer(IN_FLIGHT * 2);
  try {
    const client = adminClient(server);
    const t0 = Date.now();
    const stopAt = t0 + MINUTES * 60_000;
    const state = { cycles: 0, failed: null as Error | null };
    const samples: Sample[] = [];
    await Promise.all([
      ...Array.from({ length: IN_FLIGHT }, () => cycles(client, server, stopAt, state)),
      sampler(server, t0, stopAt, samples, state),
    ]);
    const left = (await client.workspaces.list({ page: 1, limit: 100 })).workspaces.length;
    if (left !== 0) throw new Error(`soak: ${left} workspace(s) left after every cycle deleted its own`);
    const settled = samples.filter((s) => s.minute >= WARMUP_MINUTES);
    if (settled.length < 2) throw new Error(`soak: only ${settled.length} sample(s) after the warm-up; run longer (SOAK_MINUTES)`);
    const minutes = settled.map((s) => s.minute);
    const rssSlope = slope(minutes, settled.map((s) => s.rss));
    const heapSlope = slope(minutes, settled.map((s) => s.heap));
    const first = settled[0]!;
    const last = settled.at(-1)!;
    console.log(`soak: ${state.cycles} cycles in ${MINUTES} min (${IN_FLIGHT} in flight); after ${WARMUP_MINUTES} min warm-up ` +
      `RSS ${first.rss.toFixed(1)} → ${last.rss.toFixed(1)} MiB (${rssSlope.toFixed(2)} MiB/min), heap ${first.heap.toFixed(1)} → ${last.heap.toFixed(1)} MiB ` +
      `(${heapSlope.toFixed(2)} MiB/min), open fds ${first.fds} → ${last.fds}`);
    const over = `${state.cycles} create → exec → delete cycles over ${MINUTES} min, ${IN_FLIGHT} in flight; slope after ${WARMUP_MINUTES} min`;
    return [
      result('soak_rss_slope', 'MiB/min', [rssSlope], `memory-flat target ${FLAT_MIB_PER_MIN} MiB/min; ${over}`, [FLAT_MIB_PER_MIN]),
      result('soak_heap_slope', 'MiB/min', [heapSlope], `memory-flat target ${FLAT_MIB_PER_MIN} MiB/min; ${over}`, [FLAT_MIB_PER_MIN]),
      result('soak_rss', 'MiB', settled.map((s) => s.rss), `first RSS after warm-up (last ${last.rss.toFixed(1)} MiB); ${over}`, [first.rss]),
    ];
  } finally {
    await server.stop();
  }
}
