/**
 * Observability benchmarks, on a real server with real workspaces:
 * - stats_stream_cost: the server's CPU (% of one core, from /proc/<server pid>/stat) while
 *   BENCH_STREAM_N (100) running workspaces are each streamed to one client
 *   (GET /workspace/:id/stats/stream, 1 s ticks), over BENCH_STREAM_SECONDS (30) s in 5 s
 *   slices (p50/p95 over the slices). Baseline, same run: the same workspaces, no streams.
 *   Target ≤ 5 % of one core above the baseline.
 * Streams are read in this process; only the server process is measured.
 */
import { readFileSync } from 'node:fs';
import { ADMIN, api, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { result, type BenchResult } from './stats.js';

export const OBSERVE_BENCHMARKS = ['stats_stream_cost'];
const N = Number(process.env.BENCH_STREAM_N ?? 100);
const SECONDS = Number(process.env.BENCH_STREAM_SECONDS ?? 30);
const SLICE_S = 5;
const CLK_TCK = 100; // USER_HZ on Linux

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
}

/** CPU % of one core of `pid` in consecutive slices over `seconds`. */
async function cpuSlices(pid: number, seconds: number): Promise<number[]> {
  const out: number[] = [];
  for (let left = seconds; left > 0; left -= SLICE_S) {
    const s = Math.min(SLICE_S, left);
    const c0 = cpuSeconds(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, s * 1000));
    out.push(((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100);
  }
  return out;
}

async function createMany(server: TestServer, n: number): Promise<string[]> {
  const ids: string[] = [];
  const one = async () => {
    const res = await api(server, 'POST', '/workspace', { image: 'debian-12', config: { memory_mb: 128, disk_size_mb: 64 } });
    if (res.status !== 201) throw new Error(`create failed: ${res.text}`);
    ids.push(res.body.workspace.id);
  };
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < n) {
      next++;
      await one();
    }
  }));
  return ids;
}

/** One SSE reader per workspace; counts events; `close()` aborts them all. */
function openStreams(server: TestServer, ids: string[]) {
  const ctrl = new AbortController();
  const counts = new Map<string, number>();
  const reading = ids.map(async (id) => {
    const res = await fetch(`${server.url}/workspace/${id}/stats/stream`, {
      headers: { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret, accept: 'text/event-stream' },
      signal: ctrl.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`stream ${id}: ${res.status}`);
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const n = (decoder.decode(chunk as Uint8Array, { stream: true }).match(/^data: /gm) ?? []).length;
        counts.set(id, (counts.get(id) ?? 0) + n);
      }
    } catch (err) {
      if (!ctrl.signal.aborted) throw err;
    }
  });
  return {
    events: () => [...counts.values()].reduce((a, b) => a + b, 0),
    async close() {
      ctrl.abort();
      await Promise.allSettled(reading);
    },
  };
}

export async function observeBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  // 100 workspaces of 1 cpu each exceed the default running CPU pool of a 2-core host.
  const server = await startServer({ env: { WARREN_RUNNING_CPUS: String(N * 2), WARREN_POOL_CPUS: String(N * 2) } });
  try {
    const pid = server.proc.pid!;
    const ids = await createMany(server, N);
    await new Promise((r) => setTimeout(r, 10_000)); // let boots settle
    const baseline = await cpuSlices(pid, SECONDS);
    const streams = openStreams(server, ids);
    await new Promise((r) => setTimeout(r, 3_000)); // every sampler primed
    const before = streams.events();
    const t0 = performance.now();
    const streamed = await cpuSlices(pid, SECONDS);
    const perSecond = (streams.events() - before) / ((performance.now() - t0) / 1000);
    await streams.close();
    if (perSecond < N * 0.9) throw new Error(`only ${perSecond.toFixed(1)} events/s from ${N} streams`);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(`stats_stream_cost: ${N} streams, ${perSecond.toFixed(1)} events/s; server CPU ${mean(streamed).toFixed(2)} % `
      + `vs ${mean(baseline).toFixed(2)} % without streams (added ${(mean(streamed) - mean(baseline)).toFixed(2)} % of one core)`);
    for (const id of ids) await api(server, 'DELETE', `/workspace/${id}`);
    return [result('stats_stream_cost', '% of one core (server)', streamed, `same ${N} workspaces, no streams`, baseline)];
  } finally {
    await server.stop();
  }
}
