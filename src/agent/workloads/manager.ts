/**
 * The workspace's workloads: defined from config.json at start and through the internal
 * API (`/_warren/workloads`, src/agent/routes/internal.ts) later. Owns each workload's
 * log (`<logs>/workloads/<wid>.log`) and cgroups, and the event feed the host follows
 * (`workload_exit` with `final` and `vm_on_exit`, `workload_status`).
 */
import { AppError } from '../../contract/errors.js';
import { EntryLog } from '../logs/entry-log.js';
import type { LogsDir } from '../logs/logs-dir.js';
import type { AgentLogger } from '../server.js';
import type { CgroupUsage, WorkloadCgroups } from './cgroup.js';
import { Workload, type WorkloadEventBody } from './runner.js';
import { parseWorkloadSpec, validWorkloadId, type WorkloadState, type WorkloadStatus } from './spec.js';

/** Far above the host's own limit (src/contract/workloads.ts); keeps a confused host from exhausting the agent. */
export const MAX_AGENT_WORKLOADS = 256;
/** Events kept for a follower that reconnects with `since`. */
const EVENT_BACKLOG = 256;
const MiB = 1024 * 1024;
/** A broken log (disk full) is reported at most this often. */
const LOG_ERROR_EVERY_MS = 60_000;

export type WorkloadEvent = WorkloadEventBody & { seq: number; time: string };

export interface WorkloadStats extends CgroupUsage {
  workload_id: string;
  status: WorkloadState;
}

export interface WorkloadManagerOptions {
  logsDir: LogsDir;
  cgroups: WorkloadCgroups;
  configEnv: () => Record<string, string>;
  log: AgentLogger;
}

export class WorkloadManager {
  private readonly workloads = new Map<string, Workload>();
  private readonly deleting = new Map<string, Promise<void>>();
  private readonly backlog: WorkloadEvent[] = [];
  private readonly listeners = new Set<(e: WorkloadEvent) => void>();
  private seq = 0;

  constructor(private readonly opts: WorkloadManagerOptions) {}

  /** config.json `workloads`: valid ones are defined, enabled ones started in order (each spawned before the next). */
  boot(raw: unknown[] | undefined): void {
    for (const [i, item] of (raw ?? []).entries()) {
      try {
        const spec = parseWorkloadSpec(item);
        if (this.workloads.has(spec.id) || this.workloads.size >= MAX_AGENT_WORKLOADS) continue;
        const w = this.create(spec);
        if (spec.enabled) w.start();
      } catch (err) {
        this.opts.log('warn', 'config workload ignored', { index: i, err: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  list(): WorkloadStatus[] {
    return [...this.workloads.values()].map((w) => w.status());
  }

  status(wid: string): WorkloadStatus {
    return this.get(wid).status();
  }

  /** The workload's log, for tail and follow. */
  logOf(wid: string): EntryLog {
    return this.get(wid).log;
  }

  /** Every workload's log (DELETE /_warren/logs truncates them). */
  logs(): EntryLog[] {
    return [...this.workloads.values()].map((w) => w.log);
  }

  /**
   * Defines or replaces a workload. A new enabled one is started; an existing one keeps
   * its process unless cmd, env or working_dir changed (then it is restarted).
   */
  async put(wid: string, body: unknown): Promise<WorkloadStatus> {
    const spec = parseWorkloadSpec(body, wid);
    await this.deleting.get(wid);
    const existing = this.workloads.get(wid);
    if (existing) {
      existing.update(spec);
      return existing.status();
    }
    if (this.workloads.size >= MAX_AGENT_WORKLOADS) {
      throw new AppError('workload_limit_reached', `At most ${MAX_AGENT_WORKLOADS} workloads per workspace`);
    }
    const w = this.create(spec);
    if (spec.enabled) w.start();
    return w.status();
  }

  start(wid: string): WorkloadStatus {
    const w = this.get(wid);
    w.start();
    return w.status();
  }

  async stop(wid: string): Promise<WorkloadStatus> {
    const w = this.get(wid);
    await w.stop();
    return w.status();
  }

  /** Stops it, then removes its logs and cgroups (once its processes are gone). */
  async delete(wid: string): Promise<void> {
    const w = this.get(wid);
    this.workloads.delete(wid);
    const done = (async () => {
      await w.destroy();
      w.log.remove();
      await this.opts.cgroups.remove(wid);
    })();
    this.deleting.set(wid, done);
    try {
      await done;
    } finally {
      this.deleting.delete(wid);
    }
  }

  stats(wid?: string): WorkloadStats[] {
    const list = wid === undefined ? [...this.workloads.values()] : [this.get(wid)];
    return list.map((w) => ({ workload_id: w.spec.id, status: w.status().status, ...w.usage() }));
  }

  /** Calls `fn` with every event after `since` still buffered, then with each new one. */
  subscribe(fn: (e: WorkloadEvent) => void, since?: number): () => void {
    if (since !== undefined) for (const e of this.backlog) if (e.seq > since) fn(e);
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Agent shutdown: SIGTERMs every workload; returns the groups for the final SIGKILL. */
  shutdown(): number[] {
    const pids: number[] = [];
    for (const w of this.workloads.values()) {
      const pid = w.shutdown();
      if (pid !== undefined) pids.push(pid);
    }
    return pids;
  }

  /** Flushes and closes every log. */
  closeLogs(): void {
    for (const w of this.workloads.values()) w.log.close();
  }

  private get(wid: string): Workload {
    const w = validWorkloadId(wid) ? this.workloads.get(wid) : undefined;
    if (!w) throw new AppError('workload_not_found', 'Workload not found', { field: 'workload_id' });
    return w;
  }

  private create(spec: ReturnType<typeof parseWorkloadSpec>): Workload {
    const log = new EntryLog(this.opts.logsDir.workloadLogPath(spec.id), spec.max_log_size_mb * MiB, {
      plainPath: spec.log_path,
      beforeOpen: () => this.opts.logsDir.ensureWorkloadsDir(),
      onError: this.logErrorReporter(spec.id),
    });
    const w = new Workload(spec, log, {
      configEnv: this.opts.configEnv,
      cgroups: this.opts.cgroups,
      emit: (e) => this.emit(e),
    });
    this.workloads.set(spec.id, w);
    return w;
  }

  private emit(body: WorkloadEventBody): void {
    const e: WorkloadEvent = { ...body, seq: ++this.seq, time: new Date().toISOString() };
    this.backlog.push(e);
    if (this.backlog.length > EVENT_BACKLOG) this.backlog.shift();
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        /* one follower's failure is its own */
      }
    }
  }

  private logErrorReporter(wid: string): (err: unknown) => void {
    let last = 0;
    return (err) => {
      if (Date.now() - last < LOG_ERROR_EVERY_MS) return;
      last = Date.now();
      this.opts.log('warn', 'workload log write failed', { workload_id: wid, err: (err as NodeJS.ErrnoException)?.code ?? String(err) });
    };
  }
}
