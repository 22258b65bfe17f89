/**
 * Open-loop control-plane load (bench/load.ts): LOAD_RPS (1000) requests a second for
 * LOAD_SECONDS (60) over LOAD_RPS_WORKSPACES (10) running workspaces, admin API key,
 * HTTP/1.1 keep-alive over LOAD_CONNECTIONS (64) connections (node:http Agent). A fixed pool,
 * as wrk2 does: one connection per request in flight would measure a connect storm (the
 * listen backlog overflows, connections are reset) rather than the server's answers; a
 * request waiting for a free connection still counts that wait, from its due time.
 * Request i is due at start + i / rate and sent then whatever the earlier ones are doing;
 * its latency runs from that due time to the end of its answer, so a slow server or a
 * late sender shows as latency (no coordinated omission). The mix, by weight:
 *   GET /workspace?limit=20 (2), GET /workspace/:id (3), GET /workspace/:id/stats (1),
 *   GET /workspace/:id/lifecycle (1), GET /workspace/:id/metadata (1),
 *   PATCH /workspace/:id/metadata (1), POST /workspace/:id/ping (1).
 * Any answer that is not 2xx, a socket error or an answer slower than 30 s is an error.
 * LOAD_MIX=reads sends only the GETs. Baseline: the same mix one request at a time (closed
 * loop), LOAD_BASELINE_REQUESTS (1000).
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { ADMIN, type TestServer } from '../test/support/warren.js';
import { cpuSeconds, createRunning, envNumber, ErrorTally, type Client } from './load-support.js';
import { percentile, result, withP99, type BenchResult } from './stats.js';

const RPS = envNumber('LOAD_RPS', 1000);
const SECONDS = envNumber('LOAD_SECONDS', 60);
const WORKSPACES = envNumber('LOAD_RPS_WORKSPACES', 10);
const BASELINE_REQUESTS = envNumber('LOAD_BASELINE_REQUESTS', 1000);
const CONNECTIONS = envNumber('LOAD_CONNECTIONS', 64);
const TIMEOUT_MS = 30_000;

interface Call { method: string; path: string; body?: string; kind: string }

const MIX: Array<[number, (id: string, i: number) => Call]> = [
  [2, () => ({ method: 'GET', path: '/workspace?limit=20', kind: 'GET /workspace' })],
  [3, (id) => ({ method: 'GET', path: `/workspace/${id}`, kind: 'GET /workspace/:id' })],
  [1, (id) => ({ method: 'GET', path: `/workspace/${id}/stats`, kind: 'GET /workspace/:id/stats' })],
  [1, (id) => ({ method: 'GET', path: `/workspace/${id}/lifecycle`, kind: 'GET /workspace/:id/lifecycle' })],
  [1, (id) => ({ method: 'GET', path: `/workspace/${id}/metadata`, kind: 'GET /workspace/:id/metadata' })],
  [1, (id, i) => ({ method: 'PATCH', path: `/workspace/${id}/metadata`, body: JSON.stringify({ metadata: { load_n: String(i) } }), kind: 'PATCH /workspace/:id/metadata' })],
  [1, (id) => ({ method: 'POST', path: `/workspace/${id}/ping`, body: '{}', kind: 'POST /workspace/:id/ping' })],
];
/** LOAD_MIX=reads leaves the two writes out (to tell the store's durable writes from the rest). */
const READS_ONLY = process.env.LOAD_MIX === 'reads';
const WEIGHTS = MIX.filter(([, make]) => !READS_ONLY || make('x', 0).method === 'GET')
  .flatMap(([w, make]) => Array.from({ length: w }, () => make));

/** The i-th request of the run: mix and workspace both cycle deterministically. */
function callFor(i: number, ids: string[]): Call {
  return WEIGHTS[i % WEIGHTS.length]!(ids[Math.floor(i / WEIGHTS.length) % ids.length]!, i);
}

/** One request; resolves with its status when the answer has been read whole. */
function send(agent: Agent, port: number, call: Call): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, agent, method: call.method, path: call.path, timeout: TIMEOUT_MS,
      headers: { 'x-client-id': ADMIN.clientId, 'x-client-secret': ADMIN.clientSecret, ...(call.body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(call.body);
  });
}

async function timedCall(agent: Agent, port: number, call: Call, dueMs: number, errors: ErrorTally): Promise<number | null> {
  try {
    const r = await send(agent, port, call);
    if (r.status >= 200 && r.status < 300) return performance.now() - dueMs;
    errors.add(`${call.kind} → ${r.status}`, r.text.slice(0, 300));
  } catch (err) {
    errors.add(`${call.kind} → socket`, err);
  }
  return null;
}

interface OpenLoopRun { latencies: number[]; perSecond: number[]; achieved: number; maxSendLagMs: number; byKind: Map<string, number[]> }

async function openLoop(server: TestServer, ids: string[], errors: ErrorTally): Promise<OpenLoopRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const total = Math.round(RPS * SECONDS);
  const latencies: number[] = [];
  const byKind = new Map<string, number[]>();
  const answeredAt: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  let maxSendLagMs = 0;
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * RPS) + 1);
      for (; sent < due; sent++) {
        const dueMs = start + (sent * 1000) / RPS;
        maxSendLagMs = Math.max(maxSendLagMs, now - dueMs);
        const call = callFor(sent, ids);
        inFlight.push(timedCall(agent, server.port, call, dueMs, errors).then((ms) => {
          if (ms === null) return;
          latencies.push(ms);
          answeredAt.push(performance.now() - start);
          const k = byKind.get(call.kind) ?? [];
          k.push(ms);
          byKind.set(call.kind, k);
        }));
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  const lastMs = Math.max(...answeredAt, 1);
  const perSecond = Array.from({ length: Math.ceil(SECONDS) }, (_, s) => answeredAt.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length);
  return { latencies, perSecond, achieved: latencies.length / (lastMs / 1000), maxSendLagMs, byKind };
}

/** The same mix, one request at a time. */
async function closedLoop(server: TestServer, ids: string[], errors: ErrorTally): Promise<{ all: number[]; byKind: Map<string, number[]> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const all: number[] = [];
  const byKind = new Map<string, number[]>();
  for (let i = 0; i < BASELINE_REQUESTS; i++) {
    const call = callFor(i, ids);
    const ms = await timedCall(agent, server.port, call, performance.now(), errors);
    if (ms === null) continue;
    all.push(ms);
    byKind.set(call.kind, [...(byKind.get(call.kind) ?? []), ms]);
  }
  agent.destroy();
  return { all, byKind };
}

export async function controlPlaneLoad(client: Client, server: TestServer): Promise<BenchResult[]> {
  const ids: string[] = [];
  for (let i = 0; i < WORKSPACES; i++) ids.push(await createRunning(client, server));
  const errors = new ErrorTally();
  const { all: baseline, byKind: baselineByKind } = await closedLoop(server, ids, errors);
  errors.check('load_control_plane (baseline)');
  const cpu0 = { server: cpuSeconds(server.proc.pid!), bench: process.cpuUsage(), at: performance.now() };
  const run = await openLoop(server, ids, errors);
  const wall = (performance.now() - cpu0.at) / 1000;
  const benchCpu = process.cpuUsage(cpu0.bench);
  // Which side ran out: a server near 100 % of one core is the limit (one event loop); else the host.
  const serverCpu = cpuSeconds(server.proc.pid!) - cpu0.server;
  console.log(`load_control_plane: CPU over the run (% of one core): server ${((100 * serverCpu) / wall).toFixed(0)} % ` +
    `(${((1000 * serverCpu) / Math.max(1, run.latencies.length)).toFixed(2)} ms per answered request), ` +
    `this bench ${((benchCpu.user + benchCpu.system) / 1e4 / wall).toFixed(0)} %; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
  const p = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} / p95 ${percentile(xs, 95).toFixed(1)} / p99 ${percentile(xs, 99).toFixed(1)} ms`;
  console.log(`load_control_plane: ${run.latencies.length}/${Math.round(RPS * SECONDS)} answered at ${run.achieved.toFixed(0)} req/s ` +
    `(asked ${RPS} for ${SECONDS} s over ${CONNECTIONS} connections; the sender was at most ${run.maxSendLagMs.toFixed(1)} ms late); ${p(run.latencies)}; one at a time ${p(baseline)}`);
  for (const [kind, xs] of run.byKind) {
    console.log(`  ${kind.padEnd(32)} n ${String(xs.length).padStart(6)}  ${p(xs)}; one at a time ${p(baselineByKind.get(kind) ?? [])}`);
  }
  errors.check('load_control_plane');
  const mix = `${READS_ONLY ? 'reads only, ' : ''}${RPS} req/s for ${SECONDS} s over ${ids.length} workspaces and ${CONNECTIONS} connections`;
  return [
    withP99(result('load_control_plane', 'ms', run.latencies, `the same mix one request at a time (${baseline.length} requests); open loop at ${mix}`, baseline), run.latencies),
    result('load_control_plane_rate', 'req/s', run.perSecond, `the rate asked (${RPS} req/s); achieved over the run ${run.achieved.toFixed(0)} req/s; higher is better`, [RPS]),
  ];
}
