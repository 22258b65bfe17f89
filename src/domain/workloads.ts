/**
 * Workloads (control-plane.md §11): supervised processes of a workspace. The
 * definitions are the workspace's `config.workloads`, changed under the workspace's
 * lock and stored before the agent is told (intent first); enabled ones start at boot
 * in order (written to the agent's config.json). What runs — pid, status, restarts,
 * exit code, logs, counters — is the agent's: it supervises inside the workspace, so a
 * Warren restart restarts nothing. Start/stop also set `enabled`, so the next boot
 * follows the user's last word.
 */
import { AppError } from '../contract/errors.js';
import {
  MAX_WORKLOADS, type WorkloadListQuery, type WorkloadSpec,
} from '../contract/workloads.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { Store } from '../store/store.js';
import type { AgentControlPort, AgentTarget } from './ports.js';
import type { WorkspaceService } from './workspaces.js';
import type { WorkloadStatsEvent, WorkloadStatsHub } from './workload-stats.js';
import { pushIterable } from '../util/push-iterable.js';

/** What the agent reports for one workload. */
export interface WorkloadRuntime {
  id: string;
  status: string;
  pid?: number;
  restarts?: number;
  exit_code?: number;
  error?: string;
  started_at?: string;
  finished_at?: string;
  updated_at?: string;
}

export interface WorkloadLogEntry {
  data: string;
  stream: string;
  timestamp: string;
}

export interface WorkloadDeps {
  store: Store;
  workspaces: WorkspaceService;
  agent: AgentControlPort;
  target: (rec: WorkspaceRecord) => AgentTarget;
  stats: WorkloadStatsHub;
}

const path = (wid: string, rest = '') => `/_warren/workloads/${encodeURIComponent(wid)}${rest}`;

export function workloadView(rec: WorkspaceRecord, spec: WorkloadSpec, rt?: WorkloadRuntime): Record<string, unknown> {
  const live = rec.state === 'running';
  const view: Record<string, unknown> = {
    id: spec.id,
    workspace_id: rec.id,
    name: spec.name,
    status: rt?.status ?? (live ? 'pending' : 'stopped'),
    target: spec.target ?? 'default',
    image: (spec.extra.image as string | undefined) ?? rec.image,
    cmd: spec.cmd,
    command: spec.cmd.join(' '),
    env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    working_dir: spec.working_dir ?? null,
    restart_policy: spec.restart_policy,
    max_restarts: spec.max_restarts,
    restart_delay: spec.restart_delay_ms / 1000,
    restart_backoff: spec.restart_backoff,
    max_log_size_mb: spec.max_log_size_mb,
    log_path: spec.log_path ?? null,
    vm_on_exit: spec.vm_on_exit,
    enabled: spec.enabled,
    labels: spec.labels,
    annotations: spec.annotations,
    restarts: rt?.restarts ?? 0,
    pid: rt?.pid ?? null,
    exit_code: rt?.exit_code ?? null,
    error: rt?.error ?? null,
    started_at: rt?.started_at ?? null,
    finished_at: rt?.finished_at ?? null,
    created_at: spec.created_at,
    updated_at: spec.updated_at,
  };
  for (const [k, v] of Object.entries(spec.extra)) if (!(k in view)) view[k] = v;
  return view;
}

export class WorkloadService {
  constructor(private readonly d: WorkloadDeps) {}

  private find(rec: WorkspaceRecord, wid: string): WorkloadSpec {
    const spec = rec.config.workloads.find((w) => w.id === wid);
    if (!spec) throw new AppError('workload_not_found', `Workload ${wid} not found`, { field: 'workload_id' });
    return spec;
  }

  /** Runs `fn` on the fresh record under the workspace's lock; `save` stores a new workload list. */
  private edit<T>(id: string, fn: (rec: WorkspaceRecord, save: (w: WorkloadSpec[]) => Promise<WorkspaceRecord>) => Promise<T>): Promise<T> {
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      const save = (workloads: WorkloadSpec[]) =>
        this.d.store.updateWorkspace({ ...rec, config: { ...rec.config, workloads } }, rec.version);
      return fn(rec, save);
    });
  }

  private live(rec: WorkspaceRecord): boolean {
    return rec.state === 'running';
  }

  private requireLive(rec: WorkspaceRecord): void {
    if (!this.live(rec)) {
      throw new AppError('workspace_not_running', `Workspace ${rec.id} is ${rec.state}; start it first`, { current_state: rec.state });
    }
  }

  private call<T>(rec: WorkspaceRecord, method: string, p: string, body?: unknown): Promise<T> {
    return this.d.agent.call<T>(this.d.target(rec), method, p, body);
  }

  /** `spec` is the parsed create body (contract `parseWorkloadCreate`, at the edge). */
  async create(id: string, spec: WorkloadSpec): Promise<Record<string, unknown>> {
    return this.edit(id, async (rec, save) => {
      if (rec.config.workloads.some((w) => w.id === spec.id)) {
        throw new AppError('workload_exists', `Workload ${spec.id} exists`, { field: 'id' });
      }
      if (rec.config.workloads.length >= MAX_WORKLOADS) {
        throw new AppError('workload_limit_reached', `A workspace has at most ${MAX_WORKLOADS} workloads`, { limit: MAX_WORKLOADS });
      }
      const saved = await save([...rec.config.workloads, spec]);
      if (!this.live(saved)) return workloadView(saved, spec);
      // The agent starts a new enabled workload itself; its answer is the first status.
      const res = await this.call<{ workload?: WorkloadRuntime }>(saved, 'PUT', path(spec.id), spec);
      return workloadView(saved, spec, res.workload);
    });
  }

  async list(id: string, q: WorkloadListQuery): Promise<Array<Record<string, unknown>>> {
    const rec = await this.d.workspaces.get(id);
    const runtime = await this.runtimes(rec);
    let views = rec.config.workloads.map((w) => workloadView(rec, w, runtime.get(w.id)));
    if (q.states) views = views.filter((v) => q.states!.includes(String(v.status)));
    if (q.name) views = views.filter((v) => v.name === q.name);
    return q.limit ? views.slice(0, q.limit) : views;
  }

  async get(id: string, wid: string): Promise<Record<string, unknown>> {
    const rec = await this.d.workspaces.get(id);
    const spec = this.find(rec, wid);
    return workloadView(rec, spec, this.live(rec) ? await this.runtimeOf(rec, wid) : undefined);
  }

  /** `change` is the parsed update body (contract `parseWorkloadUpdate`, at the edge). */
  async update(id: string, wid: string, change: Partial<WorkloadSpec>): Promise<Record<string, unknown>> {
    return this.edit(id, async (rec, save) => {
      const old = this.find(rec, wid);
      const spec: WorkloadSpec = { ...old, ...change, updated_at: new Date().toISOString() };
      const saved = await save(rec.config.workloads.map((w) => (w.id === wid ? spec : w)));
      if (!this.live(saved)) return workloadView(saved, spec);
      const res = await this.call<{ workload: WorkloadRuntime }>(saved, 'PUT', path(wid), spec);
      return workloadView(saved, spec, res.workload);
    });
  }

  async remove(id: string, wid: string): Promise<void> {
    await this.edit(id, async (rec, save) => {
      this.find(rec, wid);
      const saved = await save(rec.config.workloads.filter((w) => w.id !== wid));
      if (this.live(saved)) await this.call(saved, 'DELETE', path(wid)).catch(ignoreNotFound);
    });
  }

  async removeAll(id: string): Promise<number> {
    return this.edit(id, async (rec, save) => {
      const ids = rec.config.workloads.map((w) => w.id);
      const saved = await save([]);
      if (this.live(saved)) for (const wid of ids) await this.call(saved, 'DELETE', path(wid)).catch(ignoreNotFound);
      return ids.length;
    });
  }

  /** Start or stop now, and remember it for the next boot (`enabled`). */
  async power(id: string, wid: string, action: 'start' | 'stop'): Promise<Record<string, unknown>> {
    return this.edit(id, async (rec, save) => {
      this.requireLive(rec);
      const old = this.find(rec, wid);
      const spec = { ...old, enabled: action === 'start', updated_at: new Date().toISOString() };
      const saved = old.enabled === spec.enabled ? rec : await save(rec.config.workloads.map((w) => (w.id === wid ? spec : w)));
      await this.call(saved, 'PUT', path(wid), spec); // the agent may have lost it (boot config) — idempotent
      return workloadView(saved, spec, await this.runtimeOf(saved, wid, action));
    });
  }

  async logs(id: string, wid: string, tail: number): Promise<WorkloadLogEntry[]> {
    const rec = await this.d.workspaces.get(id);
    this.find(rec, wid);
    this.requireLive(rec);
    const res = await this.call<{ entries?: WorkloadLogEntry[] }>(rec, 'GET', `${path(wid, '/logs')}?tail=${tail}`);
    return (res.entries ?? []).map(cleanEntry);
  }

  /**
   * Checks now (so errors answer as JSON), then gives the stream: `tail` lines replayed, then
   * followed until the workload is deleted, the workspace stops or the signal aborts.
   */
  async openLogStream(id: string, wid: string, tail: number): Promise<(signal: AbortSignal) => AsyncIterable<unknown>> {
    const rec = await this.d.workspaces.get(id);
    this.find(rec, wid);
    this.requireLive(rec);
    const target = this.d.target(rec);
    const agent = this.d.agent;
    return async function* (signal) {
      for await (const e of agent.stream(target, `${path(wid, '/logs/stream')}?tail=${tail}`, signal)) {
        yield { ...cleanEntry(e), workload_id: wid };
      }
    };
  }

  async stats(id: string, wid: string): Promise<WorkloadStatsEvent> {
    const rec = await this.d.workspaces.get(id);
    this.find(rec, wid);
    this.requireLive(rec);
    const events = await this.d.stats.once(rec);
    return events.find((e) => e.workload_id === wid) ?? idleStats(rec, wid);
  }

  /** One event per workload per tick (`wid` null: every workload), from the workspace's one sampler. */
  async openStatsStream(id: string, wid: string | null): Promise<(signal: AbortSignal) => AsyncIterable<unknown>> {
    const rec = await this.d.workspaces.get(id);
    if (wid) this.find(rec, wid);
    this.requireLive(rec);
    const hub = this.d.stats;
    return async function* (signal) {
      const ticks = pushIterable<WorkloadStatsEvent[]>((push, end) => hub.subscribe(rec, push, end), signal);
      for await (const events of ticks) {
        for (const e of events) if (!wid || e.workload_id === wid) yield e;
      }
    };
  }

  async runtimes(rec: WorkspaceRecord): Promise<Map<string, WorkloadRuntime>> {
    if (!this.live(rec) || rec.config.workloads.length === 0) return new Map();
    try {
      const res = await this.call<{ workloads?: WorkloadRuntime[] }>(rec, 'GET', '/_warren/workloads');
      return new Map((res.workloads ?? []).map((w) => [w.id, w]));
    } catch {
      return new Map(); // a list still answers with the definitions when the agent is busy or gone
    }
  }

  private async runtimeOf(rec: WorkspaceRecord, wid: string, action?: 'start' | 'stop'): Promise<WorkloadRuntime | undefined> {
    if (action) return (await this.call<{ workload?: WorkloadRuntime }>(rec, 'POST', path(wid, `/${action}`))).workload;
    try {
      return (await this.call<{ workload?: WorkloadRuntime }>(rec, 'GET', path(wid))).workload;
    } catch {
      return undefined; // not known to the agent (yet), or the agent is busy: the definition still answers
    }
  }
}

function idleStats(rec: WorkspaceRecord, wid: string): WorkloadStatsEvent {
  return {
    workspace_id: rec.id, workload_id: wid, status: 'stopped', cpu_usage: 0, memory_usage: 0, memory_bytes: 0, memory_mb: 0,
    pids: 0, timestamp: new Date().toISOString(),
  };
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof AppError && err.code === 'workload_not_found') return;
  throw err;
}

/** Only the fields we know, as strings: the agent's answers are not trusted to be well-formed. */
function cleanEntry(e: Record<string, unknown> | WorkloadLogEntry): WorkloadLogEntry & { message: string } {
  const r = e as Record<string, unknown>;
  const data = typeof r.data === 'string' ? r.data : '';
  return {
    // `data` is the output exactly (one read's lines, newlines kept); `message` is what the CLI prints.
    data,
    message: data.endsWith('\n') ? data.slice(0, -1) : data,
    stream: r.stream === 'stderr' ? 'stderr' : 'stdout',
    timestamp: typeof r.timestamp === 'string' ? r.timestamp : new Date().toISOString(),
  };
}
