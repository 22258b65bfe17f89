/**
 * Runtime API benchmarks (issue 4), all through the gateway with the official `Runtime`,
 * each with a host baseline measured in the same run:
 * - exec_true_gateway      rt.exec.run(['true'])           vs host spawn of `true`
 * - file_read_4k_gateway   rt.files.read of a 4 KiB file   vs host fs read of 4 KiB
 * - file_write_4k_gateway  rt.files.write of 4 KiB         vs host fs write of 4 KiB
 * - file_write_64m_gateway 64 MiB written with rt.files.write (8 MiB appends: the JSON
 *                          body limit is 16 MiB), in MiB/s vs a host copy of the same bytes
 * - search_gateway         rt.search.content over a 10,000-file tree vs `rg` on the host
 * - exec_throughput        rt.exec.run(['true']) per second with 64 calls in flight vs host
 *                          spawn('true') (default pipes) per second at the same concurrency
 * Latencies are p50/p95 over BENCH_CALLS calls (default 1000). A route the agent does not
 * serve makes its benchmark fail with "route missing" — never a made-up figure.
 * `npm run bench -- exec_true_gateway` runs only the named ones.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from 'oblien';
import { api, startServer, type TestServer } from '../test/support/warren.js';
import { ensureTestImages } from '../test/support/images.js';
import { result, type BenchResult } from './stats.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const BIG_RUNS = Number(process.env.BENCH_BIG_RUNS ?? 5);
const SEARCH_RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 50);
const THROUGHPUT_CALLS = Number(process.env.BENCH_THROUGHPUT_CALLS ?? 1000);
const THROUGHPUT_RUNS = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 5);
const IN_FLIGHT = 64;
const MiB = 1024 * 1024;
const NEEDLE = 'warren_bench_needle';

export const RUNTIME_BENCHMARKS = ['exec_true_gateway', 'file_read_4k_gateway', 'file_write_4k_gateway', 'file_write_64m_gateway', 'search_gateway', 'exec_throughput'] as const;
type Name = (typeof RUNTIME_BENCHMARKS)[number];
type Rt = InstanceType<typeof Runtime>;

/** A runtime reply that is an error envelope; "route missing" when the agent has no such route. */
function check<T>(body: T, route: string): T {
  const b = body as { success?: boolean; code?: string; message?: string };
  if (b && b.success === false) {
    if (b.code === 'not_found' && /^No route for/.test(b.message ?? '')) throw new Error(`route missing: ${route}`);
    throw new Error(`${route} failed: ${b.code}: ${b.message}`);
  }
  return body;
}

async function timeCalls(n: number, call: (i: number) => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/** Printable 4 KiB: the SDK's write sends text in JSON. */
const FOUR_K = 'abcdefghijklmnopqrstuvwxyz012345'.repeat(128);

async function execTrue(rt: Rt): Promise<BenchResult> {
  await timeCalls(20, () => rt.exec.run(['true'])); // warm-up
  const gw = await timeCalls(CALLS, async () => {
    const r = check(await rt.exec.run(['true']), 'POST /exec');
    if (r.exit_code !== 0) throw new Error('exec true failed');
  });
  const host = await timeCalls(CALLS, () => {
    if (spawnSync('true').status !== 0) throw new Error('host true failed');
  });
  return result('exec_true_gateway', 'ms', gw, 'host spawn of `true`', host);
}

async function fileRead4k(rt: Rt, hostDir: string): Promise<BenchResult> {
  check(await rt.files.write({ fullPath: '/tmp/bench/read4k.txt', content: FOUR_K, createDirs: true }), 'POST /files/write');
  const gw = await timeCalls(CALLS, async () => {
    const r = check(await rt.files.read({ filePath: '/tmp/bench/read4k.txt' }), 'GET /files/read') as { content?: string };
    if (r.content?.length !== FOUR_K.length) throw new Error(`read returned ${r.content?.length} chars`);
  });
  const file = join(hostDir, 'read4k.txt');
  writeFileSync(file, FOUR_K);
  const host = await timeCalls(CALLS, () => readFileSync(file, 'utf8'));
  return result('file_read_4k_gateway', 'ms', gw, 'host fs read of 4 KiB', host);
}

async function fileWrite4k(rt: Rt, hostDir: string): Promise<BenchResult> {
  check(await rt.files.mkdir({ path: '/tmp/bench' }), 'POST /files/mkdir');
  const gw = await timeCalls(CALLS, async (i) => {
    check(await rt.files.write({ fullPath: `/tmp/bench/w4k-${i % 16}.txt`, content: FOUR_K }), 'POST /files/write');
  });
  const host = await timeCalls(CALLS, (i) => writeFileSync(join(hostDir, `w4k-${i % 16}.txt`), FOUR_K));
  return result('file_write_4k_gateway', 'ms', gw, 'host fs write of 4 KiB', host);
}

async function fileWrite64m(rt: Rt, hostDir: string): Promise<BenchResult> {
  const line = 'The quick brown fox jumps over the lazy dog 0123456789abcdefghi\n'; // 64 bytes
  const chunk = line.repeat((8 * MiB) / line.length);
  const chunks = (64 * MiB) / chunk.length;
  const rates: number[] = [];
  for (let run = 0; run < BIG_RUNS; run++) {
    const t0 = process.hrtime.bigint();
    for (let c = 0; c < chunks; c++) {
      check(await rt.files.write({ fullPath: '/tmp/bench/big.bin', content: chunk, append: c > 0 }), 'POST /files/write');
    }
    rates.push(64 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  const st = check(await rt.files.stat({ path: '/tmp/bench/big.bin' }), 'GET /files/stat') as { size?: number };
  if (st.size !== 64 * MiB) throw new Error(`64 MiB write left ${st.size} bytes`);
  const src = join(hostDir, 'big-src.bin');
  writeFileSync(src, chunk.repeat(chunks));
  const host: number[] = [];
  for (let run = 0; run < BIG_RUNS; run++) {
    const t0 = process.hrtime.bigint();
    copyFileSync(src, join(hostDir, 'big-dst.bin'));
    host.push(64 / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return result('file_write_64m_gateway', 'MiB/s', rates, 'host copy of the same 64 MiB (MiB/s; higher is better)', host);
}

/** Calls per second of `total` calls made by `inFlight` concurrent callers. */
async function callsPerSecond(total: number, inFlight: number, call: () => Promise<void>): Promise<number> {
  let started = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (started < total) {
      started++;
      await call();
    }
  }));
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function hostSpawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    spawn('true').on('error', reject).on('close', (code) => (code === 0 ? resolve() : reject(new Error('host true failed'))));
  });
}

function isRateLimited(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown };
  return e?.code === 'rate_limited' || e?.status === 429;
}

/**
 * Gateway and host runs alternate, so both see the same machine load. The agent runs at
 * most 50 tasks at once (429 beyond, SPECIFICATION.md): a caller that gets the 429 retries
 * at once, so the figure counts answered execs only and the refusals cost it their time.
 */
async function execThroughput(rt: Rt): Promise<BenchResult> {
  let refused = 0;
  const gatewayTrue = async () => {
    for (;;) {
      try {
        const r = check(await rt.exec.run(['true']), 'POST /exec');
        if (r.exit_code !== 0) throw new Error('exec true failed');
        return;
      } catch (err) {
        if (!isRateLimited(err)) throw err;
        refused++;
      }
    }
  };
  await callsPerSecond(IN_FLIGHT, IN_FLIGHT, gatewayTrue); // warm-up: 64 pooled connections
  const gw: number[] = [];
  const host: number[] = [];
  for (let run = 0; run < THROUGHPUT_RUNS; run++) {
    gw.push(await callsPerSecond(THROUGHPUT_CALLS, IN_FLIGHT, gatewayTrue));
    host.push(await callsPerSecond(THROUGHPUT_CALLS, IN_FLIGHT, hostSpawnTrue));
  }
  console.log(`exec_throughput: ${refused} of ${THROUGHPUT_RUNS * THROUGHPUT_CALLS + IN_FLIGHT} calls were first refused with 429 (50 running tasks) and retried`);
  return result('exec_throughput', 'calls/s', gw, `host spawn('true') with ${IN_FLIGHT} in flight (calls/s; higher is better)`, host);
}

/** Node script making 100 dirs × 100 files; every 100th file holds the needle (100 matches). */
const TREE_SCRIPT = `const fs=require('fs'),p=require('path'),root=process.argv[1];
for(let d=0;d<100;d++){const dir=p.join(root,'d'+d);fs.mkdirSync(dir,{recursive:true});
for(let f=0;f<100;f++){const n=d*100+f;fs.writeFileSync(p.join(dir,'f'+f+'.txt'),
'line one of file '+n+'\\nsome filler text for the search benchmark\\n'+(n%100===7?'${NEEDLE} here\\n':'')+'last line\\n');}}`;

async function search(rt: Rt, hostDir: string): Promise<BenchResult> {
  const made = check(await rt.exec.run(['node', '-e', TREE_SCRIPT, '/tmp/bench/tree'], { timeoutSeconds: 120 }), 'POST /exec');
  if (made.exit_code !== 0) throw new Error(`tree creation failed: ${made.stderr}`);
  const first = check(await rt.search.content({ query: NEEDLE, path: '/tmp/bench/tree' }), 'GET /files/search') as { matches?: unknown[] };
  if (first.matches?.length !== 100) throw new Error(`search found ${first.matches?.length} matches, want 100`);
  const gw = await timeCalls(SEARCH_RUNS, async () => {
    check(await rt.search.content({ query: NEEDLE, path: '/tmp/bench/tree' }), 'GET /files/search');
  });
  const tree = join(hostDir, 'tree');
  if (spawnSync(process.execPath, ['-e', TREE_SCRIPT, tree]).status !== 0) throw new Error('host tree failed');
  const host = await timeCalls(SEARCH_RUNS, () => {
    const r = spawnSync('rg', ['--line-number', '--no-heading', NEEDLE, tree], { encoding: 'utf8' });
    if (r.status !== 0 || r.stdout.split('\n').filter(Boolean).length !== 100) throw new Error('host rg failed');
  });
  return result('search_gateway', 'ms', gw, '`rg` on the host over the same 10,000-file tree', host);
}

async function workspaceRuntime(server: TestServer): Promise<Rt> {
  const created = await api(server, 'POST', '/workspace', {
    image: 'node-20', config: { memory_mb: 512, disk_size_mb: 1024, network_config: { public_ingress: true } },
  });
  if (created.status !== 201) throw new Error(`create failed: ${created.text}`);
  const id = created.body.workspace.id as string;
  await api(server, 'PATCH', `/workspace/${id}/network`, { public_access: true });
  const { body } = await api(server, 'POST', `/workspace/${id}/runtime-api-access/enable`);
  return new Runtime({ token: body.token, baseUrl: server.url });
}

const RUNNERS: Record<Name, (rt: Rt, hostDir: string) => Promise<BenchResult>> = {
  exec_true_gateway: (rt) => execTrue(rt),
  file_read_4k_gateway: fileRead4k,
  file_write_4k_gateway: fileWrite4k,
  file_write_64m_gateway: fileWrite64m,
  search_gateway: search,
  exec_throughput: (rt) => execThroughput(rt),
};

export async function runtimeBenchmarks(): Promise<BenchResult[]> {
  const asked = process.argv.slice(2).filter((a): a is Name => (RUNTIME_BENCHMARKS as readonly string[]).includes(a));
  const names = asked.length > 0 ? asked : [...RUNTIME_BENCHMARKS];
  await ensureTestImages(['node-20']);
  const server = await startServer();
  const hostDir = mkdtempSync(join(tmpdir(), 'warren-bench-rt-'));
  const out: BenchResult[] = [];
  const failures: string[] = [];
  try {
    const rt = await workspaceRuntime(server);
    for (const name of names) {
      try {
        out.push(await RUNNERS[name](rt, hostDir));
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
  } finally {
    await server.stop();
    rmSync(hostDir, { recursive: true, force: true });
  }
  for (const f of failures) console.error(`benchmark not measured — ${f}`);
  if (out.length === 0 && failures.length > 0) throw new Error(`no runtime benchmark measured:\n${failures.join('\n')}`);
  return out;
}
