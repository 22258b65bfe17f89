/**
 * Usage recording. Every `intervalMs` the recorder samples every running or paused
 * workspace through a port (cumulative counters: CPU time, network bytes; gauges:
 * memory and disk in use), turns the change since the previous sample into usage and
 * adds it to the workspace's minute bucket in the store.
 *
 * - Counters: the difference with the previous sample. A counter that went down means
 *   the sandbox's counters restarted (new cgroup or veth): the new value counts from 0.
 *   Counters that survive a stop and start (same cgroup) keep counting, so CPU time used
 *   between the last sample and a stop is counted at the next start.
 * - Gauges are integrated over the elapsed time (trapezoid of the two samples); time
 *   before a restart of the sandbox is not integrated (it may have been stopped).
 * - The usage between two samples goes to the minute bucket of the later one.
 * - The previous sample (the cursor) is stored with the usage, so a restart of Warren —
 *   workspaces keep running — counts on from it: nothing is lost or counted twice.
 * - A workspace never sampled before that started while this recorder runs counts from
 *   its start (counters from 0): its boot is usage too. One that started earlier (e.g.
 *   running when accounting was first enabled) starts counting at its first sample.
 * - A workspace whose tracking is off is still sampled (its cursor moves on), so turning
 *   tracking back on never bills the time it was off; nothing is written for it.
 * - `close()` takes a last sample, so stopping Warren loses no partial interval.
 *
 * Pure helpers (`usageBetween`, `bucketOf`) are exported for unit tests.
 */
import type { SandboxStats } from '../drivers/driver.js';
import type { Store, UsageAmounts, UsageCursor, UsageRow, WorkspaceRecord } from '../store/store.js';

const MB = 1024 * 1024;

/** The start of the UTC minute of `ms`, as stored. */
export function bucketOf(ms: number): string {
  return new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
}

export function cursorOf(stats: SandboxStats, at: string, startedAt: string | null): UsageCursor {
  return {
    at,
    started_at: startedAt,
    cpu_ns: stats.cpuUsageNs,
    rx_bytes: stats.networkRxBytes,
    tx_bytes: stats.networkTxBytes,
    memory_bytes: stats.memoryBytes,
    disk_bytes: stats.diskUsedBytes,
  };
}

/** Growth of a cumulative counter; a counter that went down restarted, and counts from 0. */
export function counterDelta(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/**
 * Usage between two samples of one workspace. `prev` null (first sample ever): nothing
 * is known about the time before, so nothing is counted.
 */
export function usageBetween(prev: UsageCursor | null, cur: UsageCursor): UsageAmounts {
  const none = { cpu_seconds: 0, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 };
  if (!prev) return none;
  const restarted = prev.started_at !== cur.started_at;
  const since = restarted && cur.started_at ? Math.max(Date.parse(prev.at), Date.parse(cur.started_at)) : Date.parse(prev.at);
  const seconds = Math.max(0, (Date.parse(cur.at) - since) / 1000);
  // After a sandbox restart the gauges before it say nothing about the time since: use the new ones.
  const memory = restarted ? cur.memory_bytes : (prev.memory_bytes + cur.memory_bytes) / 2;
  const disk = restarted ? cur.disk_bytes : (prev.disk_bytes + cur.disk_bytes) / 2;
  return {
    cpu_seconds: counterDelta(prev.cpu_ns, cur.cpu_ns) / 1e9,
    memory_mb_seconds: (memory / MB) * seconds,
    disk_mb_hours: (disk / MB) * (seconds / 3600),
    rx_bytes: counterDelta(prev.rx_bytes, cur.rx_bytes),
    tx_bytes: counterDelta(prev.tx_bytes, cur.tx_bytes),
  };
}

const isEmpty = (u: UsageAmounts) => !u.cpu_seconds && !u.memory_mb_seconds && !u.disk_mb_hours && !u.rx_bytes && !u.tx_bytes;

export interface UsageRecorderDeps {
  store: Store;
  /** Cumulative counters of a live workspace's sandbox. */
  sample: (rec: WorkspaceRecord) => Promise<SandboxStats>;
  intervalMs: number;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

export class UsageRecorder {
  private cursors: Map<string, UsageCursor> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Workspaces started since this instant and never sampled are counted from their start. */
  private readonly since: number;

  constructor(private readonly d: UsageRecorderDeps) {
    this.since = this.now();
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /** The cursor to count a never-sampled workspace from: its start, if this recorder saw it; else none. */
  private originOf(rec: WorkspaceRecord, cur: UsageCursor): UsageCursor | null {
    if (!rec.startedAt || Date.parse(rec.startedAt) < this.since) return null;
    return { ...cur, at: rec.startedAt, cpu_ns: 0, rx_bytes: 0, tx_bytes: 0, memory_bytes: 0 };
  }

  /** Loads the stored cursors and samples every `intervalMs` until close(). */
  async start(): Promise<void> {
    await this.load();
    this.schedule();
  }

  /** One sampling round (also what the timer runs). Never throws; rounds never overlap. */
  tick(): Promise<void> {
    if (!this.running) {
      this.running = this.round()
        .catch((err) => this.d.log('error', 'usage sampling failed', { err: String(err) }))
        .finally(() => { this.running = null; });
    }
    return this.running;
  }

  /** Stops the timer and records a last sample. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.tick();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.tick().then(() => this.schedule()), this.d.intervalMs);
    this.timer.unref();
  }

  private async load(): Promise<Map<string, UsageCursor>> {
    if (!this.cursors) {
      this.cursors = new Map();
      for (const t of await this.d.store.listUsageTracking()) if (t.cursor) this.cursors.set(t.workspace_id, t.cursor);
    }
    return this.cursors;
  }

  private async round(): Promise<void> {
    const cursors = await this.load();
    const off = new Set((await this.d.store.listUsageTracking()).filter((t) => !t.enabled).map((t) => t.workspace_id));
    const live = (await this.d.store.allWorkspaces()).filter((r) => (r.state === 'running' || r.state === 'paused') && !r.pending);
    const samples = await Promise.all(live.map(async (rec) => {
      try {
        return { rec, stats: await this.d.sample(rec), at: this.now() };
      } catch {
        return null; // stopped between the listing and the sample: its usage is counted at its next sample
      }
    }));
    const rows: UsageRow[] = [];
    const moved: Array<{ workspace_id: string; cursor: UsageCursor }> = [];
    for (const s of samples) {
      if (!s) continue;
      const cur = cursorOf(s.stats, new Date(s.at).toISOString(), s.rec.startedAt);
      const usage = usageBetween(cursors.get(s.rec.id) ?? this.originOf(s.rec, cur), cur);
      cursors.set(s.rec.id, cur);
      moved.push({ workspace_id: s.rec.id, cursor: cur });
      if (!off.has(s.rec.id) && !isEmpty(usage)) rows.push({ workspace_id: s.rec.id, bucket_start: bucketOf(s.at), ...usage });
    }
    if (moved.length) await this.d.store.recordUsage(rows, moved);
  }

  /** A deleted workspace's cursor is no longer needed in memory (its stored row goes with retention). */
  forget(id: string): void {
    this.cursors?.delete(id);
  }
}
