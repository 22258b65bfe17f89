/**
 * Leader takeover (suite `leader`, issue 16): how long the cluster-wide schedulers (TTL,
 * idle, usage, quotas, token prune, the lost-node sweep) go without a leader when the
 * leading replica dies. Two coordinators over one PostgreSQL (a private cluster of the
 * bench's own, test/support/postgres.ts), each in a process of its own
 * (src/coordination/postgres-replica.fixture.ts, the production PostgresCoordination
 * with its default retry).
 *
 * - `leader_takeover`: A leads, B stands by; A is SIGKILLed; from the kill to B's
 *   `leader` line. `BENCH_TAKEOVER_RUNS` (10) runs.
 * - baseline: the same hand-over after a clean stop (SIGTERM: A closes its session and
 *   exits), same runs, interleaved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMigratedDatabase, startPostgres } from '../test/support/postgres.js';
import { result, type BenchResult } from './stats.js';

export const LEADER_BENCHMARKS = ['leader_takeover'];
const RUNS = Number(process.env.BENCH_TAKEOVER_RUNS ?? 10);
const FIXTURE = fileURLToPath(new URL('../src/coordination/postgres-replica.fixture.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Replica {
  proc: ChildProcess;
  /** Resolves when the replica printed a line starting with `word`. */
  when(word: string): Promise<void>;
}

function replica(url: string): Replica {
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, 'lead', '-', '10000'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiting: Array<{ word: string; resolve(): void }> = [];
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    out += d;
    const lines = out.split('\n');
    for (const w of [...waiting]) {
      if (lines.some((l) => l.startsWith(w.word))) { waiting.splice(waiting.indexOf(w), 1); w.resolve(); }
    }
  });
  const when = (word: string) => new Promise<void>((resolve, reject) => {
    if (out.split('\n').some((l) => l.startsWith(word))) return resolve();
    const timer = setTimeout(() => reject(new Error(`replica did not print ${word} in 30 s`)), 30_000);
    waiting.push({ word, resolve: () => { clearTimeout(timer); resolve(); } });
    proc.once('exit', () => { clearTimeout(timer); reject(new Error(`replica exited before ${word}`)); });
  });
  return { proc, when };
}

function end(r: Replica): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => { r.proc.once('exit', () => resolve()); r.proc.kill('SIGKILL'); });
}

/** One hand-over: A leads, B stands by, A gets `signal`; ms until B leads. */
async function handOver(url: string, signal: NodeJS.Signals): Promise<number> {
  const a = replica(url);
  let b: Replica | null = null;
  try {
    await a.when('leader');
    b = replica(url); // only now: started together, either could win the first election
    await b.when('started');
    const t0 = performance.now();
    a.proc.kill(signal);
    await b.when('leader');
    return performance.now() - t0;
  } finally {
    await Promise.all([end(a), b ? end(b) : undefined]);
  }
}

export async function leaderBenchmarks(): Promise<BenchResult[]> {
  const pgs = await startPostgres();
  try {
    const url = await createMigratedDatabase(pgs);
    const killed: number[] = [];
    const clean: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      killed.push(await handOver(url, 'SIGKILL'));
      clean.push(await handOver(url, 'SIGTERM'));
    }
    return [result('leader_takeover', 'ms', killed, 'the same hand-over after a clean stop (SIGTERM: the session is closed)', clean)];
  } finally {
    await pgs.stop();
  }
}
