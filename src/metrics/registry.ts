/**
 * Operator metrics (GET /metrics, Prometheus text format) on a registry of their own
 * (never prom-client's global one), so two servers in one process never share series.
 *
 * - Per live workspace gauges labelled `workspace_id`, read from the driver at scrape
 *   time (bounded concurrency, 1 s budget; a workspace that fails or is late is left
 *   out of that scrape) and `warren_workspaces{state}` counted from the store.
 * - Histograms observed by the modules that do the work, through the `observe*`
 *   functions handed to them as options (those modules never import this one):
 *   API latency by matched route pattern (never the raw path: bounded cardinality),
 *   gateway exec time to response headers, network policy apply, image build.
 * - prom-client's default process metrics (process_*, nodejs_*).
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { sampleWithin } from './collect.js';
import type { SandboxStats } from '../drivers/driver.js';

/** The driver's cumulative counters of one sandbox. */
export type WorkspaceCounters = SandboxStats;

export interface WorkspaceInventoryItem {
  id: string;
  state: string;
  /** Present when the sandbox is live: one reading of its counters. */
  read?: () => Promise<WorkspaceCounters>;
}

export interface MetricsOptions {
  /** Every workspace record (state) and, for live ones, how to read them. */
  inventory(): Promise<WorkspaceInventoryItem[]>;
  scrapeConcurrency?: number;
  scrapeBudgetMs?: number;
  /** The warm pool's ready sandboxes and pooled images (absent or null: no pool). */
  warmPool?: () => { ready: number; images: number } | null;
  /** prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
}

export interface WarrenMetrics {
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  observeGatewayExec(seconds: number, status: number): void;
  observePolicyApply(seconds: number): void;
  observeImageBuild(image: string, seconds: number): void;
  /** The exposition text of one scrape. */
  render(): Promise<{ contentType: string; body: string }>;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BUILD_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** Gauge name suffix → the counter it shows (bytes and counts as read; CPU in seconds). */
const WORKSPACE_GAUGES: Array<[string, string, (c: WorkspaceCounters) => number]> = [
  ['cpu_seconds_total', 'CPU time used by the workspace since its sandbox started (seconds)', (c) => c.cpuUsageNs / 1e9],
  ['memory_bytes', 'Memory charged to the workspace (bytes)', (c) => c.memoryBytes],
  ['memory_limit_bytes', 'Memory limit of the workspace (bytes)', (c) => c.memoryLimitBytes],
  ['disk_used_bytes', 'Bytes used on the workspace writable layer', (c) => c.diskUsedBytes],
  ['disk_limit_bytes', 'Size of the workspace writable layer (bytes)', (c) => c.diskLimitBytes],
  ['network_rx_bytes_total', 'Bytes received by the workspace since its sandbox started', (c) => c.networkRxBytes],
  ['network_tx_bytes_total', 'Bytes sent by the workspace since its sandbox started', (c) => c.networkTxBytes],
  ['pids', 'Processes and threads in the workspace', (c) => c.pids],
];

export function createMetrics(opts: MetricsOptions): WarrenMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const http = new Histogram({
    name: 'warren_http_request_duration_seconds', help: 'Control-plane API latency by matched route pattern',
    labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers,
  });
  const exec = new Histogram({
    name: 'warren_gateway_exec_duration_seconds', help: 'Gateway exec requests: time until the workspace answered with headers',
    labelNames: ['status'], buckets: LATENCY_BUCKETS, registers,
  });
  const policy = new Histogram({
    name: 'warren_network_policy_apply_seconds', help: 'Network policy changes: compile and apply to the kernel',
    buckets: LATENCY_BUCKETS, registers,
  });
  const build = new Histogram({
    name: 'warren_image_build_seconds', help: 'Image builds', labelNames: ['image'], buckets: BUILD_BUCKETS, registers,
  });
  const states = new Gauge({ name: 'warren_workspaces', help: 'Workspaces by lifecycle state', labelNames: ['state'], registers });
  const pool = new Gauge({ name: 'warren_warm_pool_ready', help: 'Ready sandboxes waiting in the warm pool', registers });
  const gauges = WORKSPACE_GAUGES.map(([suffix, help, pick]) => ({
    gauge: new Gauge({ name: `warren_workspace_${suffix}`, help, labelNames: ['workspace_id'], registers }),
    pick,
  }));

  async function refreshWorkspaces(): Promise<void> {
    const items = await opts.inventory();
    const counts = new Map<string, number>();
    for (const it of items) counts.set(it.state, (counts.get(it.state) ?? 0) + 1);
    const live = items.filter((it) => it.read);
    const readings = await sampleWithin(live.map((it) => it.read!), {
      concurrency: opts.scrapeConcurrency ?? 8, budgetMs: opts.scrapeBudgetMs ?? 1000,
    });
    // Reset, then set: a workspace gone since the last scrape disappears from the output.
    states.reset();
    for (const [state, n] of counts) states.set({ state }, n);
    pool.set(opts.warmPool?.()?.ready ?? 0);
    for (const { gauge, pick } of gauges) {
      gauge.reset();
      live.forEach((it, i) => {
        const r = readings[i];
        if (r) gauge.set({ workspace_id: it.id }, pick(r));
      });
    }
  }

  // Concurrent scrapes share one refresh and one rendering.
  let inFlight: Promise<{ contentType: string; body: string }> | null = null;
  return {
    observeHttp: (method, route, status, seconds) => http.observe({ method, route, status: String(status) }, seconds),
    observeGatewayExec: (seconds, status) => exec.observe({ status: String(status) }, seconds),
    observePolicyApply: (seconds) => policy.observe(seconds),
    observeImageBuild: (image, seconds) => build.observe({ image }, seconds),
    render() {
      inFlight ??= (async () => {
        await refreshWorkspaces();
        return { contentType: registry.contentType, body: await registry.metrics() };
      })().finally(() => (inFlight = null));
      return inFlight;
    },
  };
}
