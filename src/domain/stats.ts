/**
 * Live stats of a workspace (control-plane.md §12; seed 004 `details.stats`): pure maths
 * turning two readings of the sandbox's cumulative counters into one `StatsEvent`.
 * CPU % and network rates are differences over the interval between the readings, so
 * every event needs a previous reading (the sampler takes a 100 ms primer for the first).
 *
 * Both spellings are emitted at the top level: the snake_case fields of the TS client's
 * StatsEvent and the seed's camelCase ones (`cpuUsage`, `memoryUsedMB`, …).
 */
import type { SandboxStats } from '../drivers/driver.js';

const MiB = 1024 * 1024;

/** One reading of the counters: `at` on a monotonic clock (ms), `wall` the epoch ms it was taken. */
export interface CounterSample {
  at: number;
  wall: number;
  stats: SandboxStats;
}

/** What the workspace is allowed: the denominators of the percentages. */
export interface StatsLimits {
  cpus: number;
  memoryMb: number;
}

/** `stopped`: the final event of a stream whose workspace stopped (all usage zero). */
export type StatsState = 'running' | 'paused' | 'stopped';

export interface StatsEvent {
  workspace_id: string;
  state: StatsState;
  timestamp: string;
  /** % of one core over the interval (200 = two cores busy). */
  cpu_usage: number;
  cpuUsage: number;
  /** % of the workspace's `cpus`. */
  cpu_percent_of_limit: number;
  /** % of the memory limit. */
  memory_usage: number;
  memoryUsage: number;
  memory_used_mb: number;
  memoryUsedMB: number;
  memory_total_mb: number;
  memoryTotalMB: number;
  memory_bytes: number;
  disk_usage: number;
  disk_used_mb: number;
  diskUsedMB: number;
  disk_total_mb: number;
  diskTotalMB: number;
  /** Cumulative bytes since the sandbox started, seen from the workspace (rx = received). */
  network: { rx: number; tx: number };
  rx_bytes: number;
  tx_bytes: number;
  /** Bytes per second over the interval. */
  rx_rate: number;
  tx_rate: number;
  networkIn: string;
  networkOut: string;
  pids: number;
}

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

const oneDecimal = (x: number) => Math.round(x * 10) / 10;
/** `part` as a % of `whole`, one decimal; 0 when there is no whole. */
export const percent = (part: number, whole: number) => (whole > 0 ? oneDecimal((part / whole) * 100) : 0);
/** A counter that went backwards (sandbox restarted between readings) counts as no progress. */
const delta = (cur: number, prev: number) => Math.max(0, cur - prev);

/** % of one core from two readings of a cumulative CPU-nanosecond counter `seconds` apart (one decimal). */
export function cpuPercent(curNs: number, prevNs: number, seconds: number): number {
  return seconds > 0 ? oneDecimal((delta(curNs, prevNs) / (seconds * 1e9)) * 100) : 0;
}

/**
 * The event for the interval prev → cur. With no usable previous reading (none, or not
 * older than cur) the rates and CPU are 0 rather than a guess.
 */
export function statsEvent(
  workspaceId: string, state: Exclude<StatsState, 'stopped'>, cur: CounterSample, prev: CounterSample | null, limits: StatsLimits,
): StatsEvent {
  const s = cur.stats;
  const seconds = prev && cur.at > prev.at ? (cur.at - prev.at) / 1000 : 0;
  const rate = (now: number, before: number) => (seconds > 0 ? Math.round(delta(now, before) / seconds) : 0);
  const cpu = prev ? cpuPercent(s.cpuUsageNs, prev.stats.cpuUsageNs, seconds) : 0;
  const usedMb = Math.round(s.memoryBytes / MiB);
  const diskUsedMb = Math.round(s.diskUsedBytes / MiB);
  const diskTotalMb = Math.round(s.diskLimitBytes / MiB);
  const memoryUsage = percent(s.memoryBytes, limits.memoryMb * MiB);
  return {
    workspace_id: workspaceId,
    state,
    timestamp: new Date(cur.wall).toISOString(),
    cpu_usage: cpu,
    cpuUsage: cpu,
    cpu_percent_of_limit: limits.cpus > 0 ? oneDecimal(cpu / limits.cpus) : 0,
    memory_usage: memoryUsage,
    memoryUsage,
    memory_used_mb: usedMb,
    memoryUsedMB: usedMb,
    memory_total_mb: limits.memoryMb,
    memoryTotalMB: limits.memoryMb,
    memory_bytes: s.memoryBytes,
    disk_usage: percent(s.diskUsedBytes, s.diskLimitBytes),
    disk_used_mb: diskUsedMb,
    diskUsedMB: diskUsedMb,
    disk_total_mb: diskTotalMb,
    diskTotalMB: diskTotalMb,
    network: { rx: s.networkRxBytes, tx: s.networkTxBytes },
    rx_bytes: s.networkRxBytes,
    tx_bytes: s.networkTxBytes,
    rx_rate: prev ? rate(s.networkRxBytes, prev.stats.networkRxBytes) : 0,
    tx_rate: prev ? rate(s.networkTxBytes, prev.stats.networkTxBytes) : 0,
    networkIn: humanBytes(s.networkRxBytes),
    networkOut: humanBytes(s.networkTxBytes),
    pids: s.pids,
  };
}

/** The last event of a stream whose workspace is no longer live: nothing runs, nothing is used. */
export function stoppedEvent(workspaceId: string, limits: StatsLimits, wall: number): StatsEvent {
  const zero: SandboxStats = {
    cpuUsageNs: 0, memoryBytes: 0, memoryLimitBytes: 0, pids: 0, diskUsedBytes: 0, diskLimitBytes: 0, networkRxBytes: 0, networkTxBytes: 0,
  };
  return { ...statsEvent(workspaceId, 'running', { at: 0, wall, stats: zero }, null, limits), state: 'stopped' };
}
