/**
 * Load benchmarks (issue 15 item 7), `npm run bench -- load`, each on a fresh server whose
 * quotas and per-caller rate limit are off (bench/load-support.ts). Every call must succeed:
 * one error and the run fails loudly (after printing what failed), so no figure is written.
 * - load_create_50: LOAD_CREATES (50) concurrent creates with the official client, time from
 *   the call to `running`; then each answers `exec true` through the gateway. Baseline: the
 *   same creates one at a time on the same server, just before.
 * - load_exec_stream_first_byte / load_exec_stream_total: LOAD_STREAMS (200) concurrent
 *   `rt.exec.stream` SSE streams of a command printing one line a second for
 *   LOAD_STREAM_SECONDS (5), spread over enough workspaces that none passes the agent's
 *   50-task cap (LOAD_STREAM_WORKSPACES, default 5); every stream must deliver every line
 *   and exit 0. First byte = the first stdout event. Baseline: the same stream alone.
 * - load_control_plane / load_control_plane_rate: LOAD_RPS (1000) control-plane requests a
 *   second for LOAD_SECONDS (60), open loop (each request is sent at its scheduled time
 *   whatever the earlier ones are doing; latency is counted from the scheduled time, so a
 *   slow server shows as latency, not as a lower rate). See rps-load.ts for the mix.
 * p99 is reported with p50/p95 (results.json `p99`). LOAD_PARTS (create,stream,rps) picks parts.
 */
import { ensureTestImages } from '../test/support/images.js';
import { adminClient } from '../test/support/workspaces.js';
import type { TestServer } from '../test/support/warren.js';
import {
  createRunning, deleteAll, elapsedMs, envNumber, ErrorTally, execTrue, inParallel, runtimeFor, startLoadServer,
  type Client, type Rt,
} from './load-support.js';
import { controlPlaneLoad } from './rps-load.js';
import { percentile, result, withP99, type BenchResult } from './stats.js';

export const LOAD_BENCHMARKS = ['load_create_50', 'load_exec_stream_first_byte', 'load_exec_stream_total', 'load_control_plane', 'load_control_plane_rate'] as const;

const CREATES = envNumber('LOAD_CREATES', 50);
const STREAMS = envNumber('LOAD_STREAMS', 200);
const STREAM_SECONDS = envNumber('LOAD_STREAM_SECONDS', 5);
/** The agent runs at most 50 tasks at once; 45 leaves room for the checks. */
const STREAMS_PER_WORKSPACE = 45;
const STREAM_WORKSPACES = Math.max(envNumber('LOAD_STREAM_WORKSPACES', 5), Math.ceil(STREAMS / STREAMS_PER_WORKSPACE));
const STREAM_BASELINE_RUNS = envNumber('LOAD_STREAM_BASELINE_RUNS', 5);

const PARTS = new Set((process.env.LOAD_PARTS ?? 'create,stream,rps').split(',').map((p) => p.trim()));

const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} / p95 ${percentile(xs, 95).toFixed(1)} / p99 ${percentile(xs, 99).toFixed(1)} ms`;

/** Creates one at a time (baseline), then CREATES at once; each of the latter then answers `exec true`. */
async function concurrentCreates(client: Client, server: TestServer): Promise<BenchResult> {
  const errors = new ErrorTally();
  const serial: number[] = [];
  for (let i = 0; i < CREATES; i++) {
    const t0 = process.hrtime.bigint();
    if (await errors.guard('serial create', () => createRunning(client, server))) serial.push(elapsedMs(t0));
  }
  errors.check('load_create_50 (baseline)');
  await deleteAll(client, 6);

  const ids: string[] = [];
  const times: number[] = [];
  const t0all = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CREATES }, async () => {
    const t0 = process.hrtime.bigint();
    const id = await errors.guard('concurrent create', () => createRunning(client, server));
    if (id) {
      times.push(elapsedMs(t0));
      ids.push(id);
    }
  }));
  const wallMs = elapsedMs(t0all);
  await Promise.all(ids.map((id) => errors.guard('exec true after create', async () => execTrue(await runtimeFor(client, server, id), id))));
  console.log(`load_create_50: ${ids.length}/${CREATES} concurrent creates running in ${(wallMs / 1000).toFixed(1)} s, create → running ${fmt(times)}; ` +
    `one at a time ${fmt(serial)}; every one answered exec true: ${errors.total === 0}`);
  errors.check('load_create_50');
  await deleteAll(client, 6);
  return withP99(result('load_create_50', 'ms', times, `the same ${CREATES} creates one at a time, same run (create → running)`, serial), times);
}

/** One stream: `{firstByteMs, totalMs}`, or a throw naming what was wrong. */
async function oneStream(rt: Rt, seconds: number): Promise<{ firstByteMs: number; totalMs: number }> {
  const script = `i=0; while [ $i -lt ${seconds} ]; do echo line $i; i=$((i+1)); sleep 1; done`;
  const t0 = process.hrtime.bigint();
  let firstByteMs = NaN;
  let out = '';
  let exit: number | undefined;
  for await (const ev of rt.exec.stream(['sh', '-c', script], { timeoutSeconds: seconds + 60 })) {
    const e = ev as { event: string; data?: string; exit_code?: number; code?: string; message?: string };
    if (e.event === 'stdout') {
      if (Number.isNaN(firstByteMs)) firstByteMs = elapsedMs(t0);
      out += Buffer.from(e.data ?? '', 'base64').toString();
    } else if (e.event === 'exit') exit = e.exit_code;
    else if (e.event === 'error') throw new Error(`stream error event: ${JSON.stringify(e)}`);
  }
  const totalMs = elapsedMs(t0);
  const lines = out.split('\n').filter(Boolean).length;
  if (exit !== 0 || lines !== seconds) throw new Error(`stream ended with exit ${exit} after ${lines}/${seconds} lines`);
  return { firstByteMs, totalMs };
}

async function execStreams(client: Client, server: TestServer): Promise<BenchResult[]> {
  const rts: Rt[] = [];
  for (let i = 0; i < STREAM_WORKSPACES; i++) {
    const id = await createRunning(client, server);
    rts.push(await runtimeFor(client, server, id));
  }
  const alone: Array<{ firstByteMs: number; totalMs: number }> = [];
  for (let i = 0; i < STREAM_BASELINE_RUNS; i++) alone.push(await oneStream(rts[0]!, STREAM_SECONDS));

  const errors = new ErrorTally();
  const runs: Array<{ firstByteMs: number; totalMs: number }> = [];
  await Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
    const r = await errors.guard('exec stream', () => oneStream(rts[i % rts.length]!, STREAM_SECONDS));
    if (r) runs.push(r);
  }));
  const first = runs.map((r) => r.firstByteMs);
  const total = runs.map((r) => r.totalMs);
  console.log(`load_exec_stream: ${runs.length}/${STREAMS} streams complete over ${rts.length} workspaces (${STREAM_SECONDS} s each); ` +
    `first byte ${fmt(first)}, total ${fmt(total)}`);
  errors.check('load_exec_stream');
  await deleteAll(client, 6);
  const base = `the same stream alone (${STREAM_BASELINE_RUNS} runs, same workspace); ${STREAMS} streams over ${rts.length} workspaces`;
  return [
    withP99(result('load_exec_stream_first_byte', 'ms', first, base, alone.map((a) => a.firstByteMs)), first),
    withP99(result('load_exec_stream_total', 'ms', total, base, alone.map((a) => a.totalMs)), total),
  ];
}

async function onServer<T>(maxWorkspaces: number, fn: (client: Client, server: TestServer) => Promise<T>): Promise<T> {
  const server = await startLoadServer(maxWorkspaces);
  try {
    return await fn(adminClient(server), server);
  } finally {
    await server.stop();
  }
}

export async function loadBenchmarks(): Promise<BenchResult[]> {
  await ensureTestImages(['debian-12']);
  const out: BenchResult[] = [];
  if (PARTS.has('create')) out.push(await onServer(CREATES, concurrentCreates));
  if (PARTS.has('stream')) out.push(...(await onServer(STREAM_WORKSPACES, execStreams)));
  if (PARTS.has('rps')) out.push(...(await onServer(20, controlPlaneLoad)));
  return out;
}
