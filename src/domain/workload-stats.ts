/**
 * Stats of workloads (control-plane.md §11): the agent reports cumulative counters of
 * each workload's own cgroups; this turns two samples into CPU % and fans one sampler
 * per workspace out to every stream of it (per workload or all), so N clients cost one
 * agent request per tick. The sampler stops with its last subscriber; when the agent
 * stops answering (the workspace stopped), subscribers get `end`.
 */
import type { WorkspaceRecord } from '../store/store.js';
import { cpuPercent, percent } from './stats.js';

export interface WorkloadCounters {
  workload_id: string;
  status: string;
  cpu_usage_ns: number;
  memory_bytes: number;
  pids: number;
}

export interface WorkloadStatsEvent {
  workspace_id: string;
  workload_id: string;
  status: string;
  /** % of one core over the last tick. */
  cpu_usage: number;
  /** % of the workspace's memory limit. */
  memory_usage: number;
  memory_bytes: number;
  memory_mb: number;
  pids: number;
  timestamp: string;
}

type Fetch = (rec: WorkspaceRecord) => Promise<WorkloadCounters[]>;

interface Subscriber {
  push: (events: WorkloadStatsEvent[]) => void;
  end: () => void;
}

interface Sampler {
  rec: WorkspaceRecord;
  subscribers: Set<Subscriber>;
  timer: NodeJS.Timeout;
  last: Map<string, { at: number; ns: number }>;
  busy: boolean;
  primed: boolean;
}

const PRIMER_MS = 200;

export function toEvents(
  rec: WorkspaceRecord, counters: WorkloadCounters[], last: Map<string, { at: number; ns: number }>, now: number,
): WorkloadStatsEvent[] {
  const limitBytes = rec.config.memory_mb * 1024 * 1024;
  return counters.map((c) => {
    const prev = last.get(c.workload_id);
    last.set(c.workload_id, { at: now, ns: c.cpu_usage_ns });
    return {
      workspace_id: rec.id,
      workload_id: c.workload_id,
      status: c.status,
      cpu_usage: prev && now > prev.at ? cpuPercent(c.cpu_usage_ns, prev.ns, (now - prev.at) / 1000) : 0,
      memory_usage: percent(c.memory_bytes, limitBytes),
      memory_bytes: c.memory_bytes,
      memory_mb: Math.round((c.memory_bytes / (1024 * 1024)) * 10) / 10,
      pids: c.pids,
      timestamp: new Date(now).toISOString(),
    };
  });
}

export class WorkloadStatsHub {
  private readonly samplers = new Map<string, Sampler>();

  constructor(private readonly fetch: Fetch, private readonly intervalMs: number) {}

  subscribe(rec: WorkspaceRecord, push: Subscriber['push'], end: () => void): () => void {
    let s = this.samplers.get(rec.id);
    if (!s) {
      const timer = setInterval(() => void this.tick(rec.id), this.intervalMs);
      timer.unref();
      s = { rec, subscribers: new Set(), timer, last: new Map(), busy: false, primed: false };
      this.samplers.set(rec.id, s);
      void this.tick(rec.id);
    }
    const sub = { push, end };
    s.subscribers.add(sub);
    return () => {
      const cur = this.samplers.get(rec.id);
      if (!cur) return;
      cur.subscribers.delete(sub);
      if (cur.subscribers.size === 0) this.stop(rec.id);
    };
  }

  /** One reading: two samples PRIMER_MS apart, so CPU % means something. */
  async once(rec: WorkspaceRecord): Promise<WorkloadStatsEvent[]> {
    const last = new Map<string, { at: number; ns: number }>();
    toEvents(rec, await this.fetch(rec), last, Date.now());
    await new Promise((r) => setTimeout(r, PRIMER_MS));
    return toEvents(rec, await this.fetch(rec), last, Date.now());
  }

  private async tick(id: string): Promise<void> {
    const s = this.samplers.get(id);
    if (!s || s.busy) return;
    s.busy = true;
    try {
      const counters = await this.fetch(s.rec);
      const events = toEvents(s.rec, counters, s.last, Date.now());
      if (!s.primed) {
        s.primed = true; // the first sample only primes the CPU deltas; the next comes soon
        setTimeout(() => void this.tick(id), PRIMER_MS).unref();
        return;
      }
      for (const sub of s.subscribers) sub.push(events);
    } catch {
      const subs = [...s.subscribers];
      this.stop(id);
      for (const sub of subs) sub.end();
    } finally {
      s.busy = false;
    }
  }

  private stop(id: string): void {
    const s = this.samplers.get(id);
    if (!s) return;
    clearInterval(s.timer);
    this.samplers.delete(id);
  }
}
