/**
 * What bench/load.ts and bench/soak.ts share: a server whose quotas and per-caller rate
 * limit are lifted (the load benches measure what the host and the server can carry, not
 * the operator's policy), the create → enable → `exec true` path of the official client,
 * a bounded-parallel helper, an error tally that makes a run fail loudly, and readings of
 * the server process (RSS from /proc, V8 heap from /metrics' default Node metrics).
 */
import { readFileSync, readdirSync } from 'node:fs';
import Oblien, { Runtime } from 'oblien';
import { api, startServer, type TestServer } from '../test/support/warren.js';

export type Client = InstanceType<typeof Oblien>;
export type Rt = InstanceType<typeof Runtime>;
const MiB = 1024 * 1024;

/** Positive number from the environment (or the default); a bad value stops the run. */
export function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a number > 0, got ${JSON.stringify(raw)}`);
  return n;
}

/** A test server with quotas and the per-caller rate limit off (WARREN_RATE_LIMIT=0). */
export function startLoadServer(maxWorkspaces: number, env: Record<string, string> = {}): Promise<TestServer> {
  const big = String(10_000_000);
  return startServer({
    env: {
      WARREN_RATE_LIMIT: '0', WARREN_MAX_WORKSPACES: String(maxWorkspaces + 10),
      WARREN_POOL_CPUS: big, WARREN_RUNNING_CPUS: big, WARREN_POOL_MEMORY_MB: big, WARREN_RUNNING_MEMORY_MB: big,
      WARREN_POOL_DISK_MB: big, WARREN_RUNNING_DISK_MB: big, ...env,
    },
  });
}

export const CREATE_OPTIONS = { image: 'debian-12', memory_mb: 128, disk_size_mb: 64, config: { network_config: { public_ingress: true } } };

export function elapsedMs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Official client's create; answers once the workspace is `running` (polls if the answer was not). */
export async function createRunning(client: Client, server: TestServer): Promise<string> {
  const ws = await client.workspaces.create(CREATE_OPTIONS as never);
  if (ws.status === 'running') return ws.id;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const res = await api(server, 'GET', `/workspace/${ws.id}`);
    const status = res.body?.workspace?.status;
    if (status === 'running') return ws.id;
    if (status === 'failed' || Date.now() > deadline) throw new Error(`workspace ${ws.id} did not reach running: ${res.text.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** apiAccess.enable → a Runtime on Warren's gateway for the workspace. */
export async function runtimeFor(client: Client, server: TestServer, id: string): Promise<Rt> {
  const { token } = await client.workspaces.apiAccess.enable(id);
  if (!token) throw new Error(`apiAccess.enable(${id}) gave no token`);
  return new Runtime({ token, baseUrl: server.url });
}

export async function execTrue(rt: Rt, id: string): Promise<void> {
  const r = await rt.exec.run(['true']);
  if (r.exit_code !== 0) throw new Error(`exec true in ${id} answered ${JSON.stringify(r).slice(0, 300)}`);
}

/** Runs `fn` over `items` with at most `parallel` at once. */
export async function inParallel<T>(items: T[], parallel: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, async () => {
    for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
  }));
}

/** Every failure of a run, by kind; `check()` throws (after printing) if there was any. */
export class ErrorTally {
  private readonly byKind = new Map<string, { count: number; example: string }>();
  total = 0;

  add(kind: string, example: unknown): void {
    this.total++;
    const e = this.byKind.get(kind);
    if (e) e.count++;
    else this.byKind.set(kind, { count: 1, example: example instanceof Error ? example.message : String(example) });
  }

  /** Wraps a call: a throw is tallied under `kind` and swallowed (the caller goes on). */
  async guard<T>(kind: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.add(kind, err);
      return undefined;
    }
  }

  check(bench: string): void {
    if (this.total === 0) return;
    const lines = [...this.byKind].map(([k, v]) => `  ${v.count} × ${k}: ${v.example.slice(0, 400)}`);
    throw new Error(`${bench}: ${this.total} error(s) under load:\n${lines.join('\n')}`);
  }
}

/** Deletes every workspace of the server through the API, `parallel` at a time. */
export async function deleteAll(client: Client, parallel: number): Promise<void> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const { workspaces } = await client.workspaces.list({ page, limit: 100 });
    ids.push(...workspaces.map((w) => w.id));
    if (workspaces.length < 100) break;
  }
  await inParallel(ids, parallel, async (id) => { await client.workspaces.delete(id); });
}

export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100 a second)
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The server's V8 heap in use (MiB), from prom-client's default metrics on GET /metrics. */
export async function heapUsedMiB(server: TestServer): Promise<number> {
  const text = (await api(server, 'GET', '/metrics')).text;
  const m = /^nodejs_heap_size_used_bytes (\S+)/m.exec(text);
  if (!m) throw new Error('GET /metrics has no nodejs_heap_size_used_bytes');
  return Number(m[1]) / MiB;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}
