/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks (all by default), prints
 * a table and merges the figures into bench/results.json (one entry per name).
 * Benchmarks start real servers and sandboxes; they are never part of `npm test`.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './stats.js';
import { coreBenchmarks } from './core.js';
import { runtimeBenchmarks, RUNTIME_BENCHMARKS } from './runtime.js';
import { networkBenchmarks, NETWORK_BENCHMARKS } from './network.js';
import { lifecycleBenchmarks, LIFECYCLE_BENCHMARKS } from './lifecycle.js';
import { observeBenchmarks, OBSERVE_BENCHMARKS } from './observe.js';
import { workloadLogBenchmarks, WORKLOAD_LOG_BENCHMARKS } from './workload-logs.js';
import { authBenchmarks, AUTH_BENCHMARKS } from './auth.js';
import { sshBenchmarks, SSH_BENCHMARKS } from './ssh.js';
import { imageBenchmarks, IMAGE_BENCHMARKS } from './images.js';
import { imageBuildBenchmarks, IMAGE_BUILD_BENCHMARKS } from './image-build.js';
import { scaleBenchmarks, SCALE_BENCHMARKS } from './scale.js';
import { loadBenchmarks, LOAD_BENCHMARKS } from './load.js';
import { soakBenchmarks, SOAK_BENCHMARKS } from './soak.js';
import { relayBenchmarks, RELAY_BENCHMARKS } from './relay.js';
import { leaderBenchmarks, LEADER_BENCHMARKS } from './leader.js';
import { fleetBenchmarks, FLEET_BENCHMARKS } from './fleet.js';

type Bench = () => Promise<BenchResult[]>;
const SUITES: Record<string, Bench> = { core: coreBenchmarks, runtime: runtimeBenchmarks, network: networkBenchmarks, lifecycle: lifecycleBenchmarks,
  observe: observeBenchmarks, workloads: workloadLogBenchmarks, auth: authBenchmarks, ssh: sshBenchmarks,
  images: imageBenchmarks, 'image-build': imageBuildBenchmarks, scale: scaleBenchmarks, load: loadBenchmarks, soak: soakBenchmarks,
  relay: relayBenchmarks, leader: leaderBenchmarks, fleet: fleetBenchmarks };
/** Benchmark names each suite produces, so `npm run bench -- create_to_first_exec` finds its suite. */
const NAMES: Record<string, string> = {
  create_to_first_exec: 'core', cold_start_no_pool: 'core', idle_workspace_memory: 'core', idle_workspace_pss: 'core',
  ...Object.fromEntries(RUNTIME_BENCHMARKS.map((n) => [n, 'runtime'])),
  ...Object.fromEntries(NETWORK_BENCHMARKS.map((n) => [n, 'network'])),
  ...Object.fromEntries(LIFECYCLE_BENCHMARKS.map((n) => [n, 'lifecycle'])),
  ...Object.fromEntries(OBSERVE_BENCHMARKS.map((n) => [n, 'observe'])),
  ...Object.fromEntries(WORKLOAD_LOG_BENCHMARKS.map((n) => [n, 'workloads'])),
  ...Object.fromEntries(AUTH_BENCHMARKS.map((n) => [n, 'auth'])),
  ...Object.fromEntries(SSH_BENCHMARKS.map((n) => [n, 'ssh'])),
  ...Object.fromEntries(IMAGE_BENCHMARKS.map((n) => [n, 'images'])),
  ...Object.fromEntries(IMAGE_BUILD_BENCHMARKS.map((n) => [n, 'image-build'])),
  ...Object.fromEntries(SCALE_BENCHMARKS.map((n) => [n, 'scale'])),
  ...Object.fromEntries(LOAD_BENCHMARKS.map((n) => [n, 'load'])),
  ...Object.fromEntries(SOAK_BENCHMARKS.map((n) => [n, 'soak'])),
  ...Object.fromEntries(RELAY_BENCHMARKS.map((n) => [n, 'relay'])),
  ...Object.fromEntries(LEADER_BENCHMARKS.map((n) => [n, 'leader'])),
  ...Object.fromEntries(FLEET_BENCHMARKS.map((n) => [n, 'fleet'])),
};

const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const suites = new Set(wanted.length ? wanted.map((w) => NAMES[w] ?? w) : Object.keys(SUITES));
  const fresh: BenchResult[] = [];
  for (const s of suites) {
    const run = SUITES[s];
    if (!run) throw new Error(`unknown benchmark ${s}; known: ${Object.keys(NAMES).join(', ')}`);
    fresh.push(...(await run()));
  }
  const previous: BenchResult[] = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : [];
  const merged = [...previous.filter((p) => !fresh.some((f) => f.name === p.name)), ...fresh];
  writeFileSync(RESULTS, JSON.stringify(merged, null, 2) + '\n');
  console.table(fresh.map((r) => ({ name: r.name, unit: r.unit, n: r.n, p50: r.p50, p95: r.p95, p99: r.p99, baseline: r.baseline, baseline_p50: r.baseline_p50, ratio: r.ratio })));
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
