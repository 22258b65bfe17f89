/**
 * A workspace that ends by itself — its `cmd` exited (the agent then exits with its
 * status, so the sandbox ends), or its sandbox died (OOM, crash) — meets its
 * restart policy (seed 004):
 *
 * - `no`: it stays stopped; `on-failure`: restarted when the exit was not clean
 *   (code ≠ 0 or killed for memory); `always`: restarted whatever the code.
 * - `max_restarts` bounds the restarts since a user last started it (0 = no bound).
 * - Restarts back off exponentially: base × 2^n, capped. The due time is stored
 *   (`restart_info.next_restart_at`) and the scheduler starts it then — after a server
 *   restart too.
 * - A workspace that stays stopped with `remove_on_exit` is deleted.
 */
import type { SandboxStatus } from '../drivers/driver.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { WorkspaceBackend } from './backend.js';
import type { WorkspaceService } from './workspaces.js';
import type { NoteLifecycle } from './activity-log.js';

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export type ExitDecision = { kind: 'restart'; at: number } | { kind: 'stop' };

export function decideExit(rec: WorkspaceRecord, status: Pick<SandboxStatus, 'reason' | 'exitCode'>, now: number, backoff: Backoff): ExitDecision {
  const policy = rec.config.restart_policy;
  const failed = status.reason === 'oom' || status.exitCode !== 0;
  const wanted = policy === 'always' || (policy === 'on-failure' && failed);
  const count = rec.lifecycle.restart.count;
  const allowed = rec.config.max_restarts === 0 || count < rec.config.max_restarts;
  if (!wanted || !allowed) return { kind: 'stop' };
  return { kind: 'restart', at: now + Math.min(backoff.maxMs, backoff.baseMs * 2 ** count) };
}

export interface ExitDeps {
  store: Store;
  orchestrator: WorkspaceBackend;
  workspaces: WorkspaceService;
  backoff: Backoff;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** The activity history hears every exit (src/domain/activity-log.ts). */
  note?: NoteLifecycle;
}

export class ExitHandler {
  constructor(private readonly d: ExitDeps) {}

  /** Checks whether a running workspace's sandbox ended by itself and acts on it. Never throws. */
  async check(id: string): Promise<void> {
    try {
      await this.d.workspaces.withLock(id, () => this.checkLocked(id));
    } catch (err) {
      this.d.log('error', 'handling a workspace exit failed', { id, err: String(err) });
    }
  }

  /** `check` for a caller that holds the workspace's lock (the reconciler). */
  async checkLocked(id: string): Promise<void> {
    const rec = await this.d.store.getWorkspace(id);
    if (!rec || rec.state !== 'running' || rec.pending || !this.d.orchestrator.owns(rec)) return;
    const status = await this.d.orchestrator.inspect(rec);
    if (status.state === 'running' || status.state === 'paused') return;
    await this.ended(rec, status);
  }

  /**
   * A workload with `vm_on_exit: exit` ended for good: the workspace ends with it, with
   * the workload's status, exactly as if its main process had (restart policy included).
   */
  async workloadExit(id: string, exitCode: number): Promise<void> {
    await this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.store.getWorkspace(id);
      if (!rec || rec.state !== 'running' || rec.pending) return;
      await this.ended(rec, { exitCode, reason: 'workload_exit' });
    });
  }

  private async ended(rec: WorkspaceRecord, status: Pick<SandboxStatus, 'reason' | 'exitCode'>): Promise<void> {
    const id = rec.id;
    const decision = decideExit(rec, status, Date.now(), this.d.backoff);
    const reason = status.reason ?? 'exited';
    this.d.log('warn', 'workspace exited', { id, reason, exitCode: status.exitCode, decision: decision.kind });
    await this.d.orchestrator.bringDown(rec);
    const now = new Date().toISOString();
    const restart = {
      ...rec.lifecycle.restart,
      last_exit_code: status.exitCode ?? null,
      last_exit_reason: reason,
      last_exit_at: now,
      next_restart_at: decision.kind === 'restart' ? new Date(decision.at).toISOString() : null,
    };
    const code = reason === 'oom' ? 'oom_killed' : 'exited';
    const exitText = status.exitCode === undefined ? reason : `exit code ${status.exitCode}`;
    await this.d.store.updateWorkspace({
      ...rec,
      state: 'stopped',
      startedAt: null,
      userRequestedStop: false,
      lifecycle: { ...rec.lifecycle, restart, asleep: null },
      error: {
        code,
        message: reason === 'workload_exit'
          ? `A workload with vm_on_exit "exit" ended (${exitText})`
          : `The workspace's main process ended (${exitText})`,
      },
    });
    this.d.note?.({
      workspaceId: id, type: 'exited', from: 'running', to: 'stopped',
      origin: reason === 'workload_exit' ? 'workload' : 'workspace',
      reason: reason === 'oom' ? 'out of memory' : exitText,
      details: { exit_code: status.exitCode ?? null, exit_reason: reason, then: decision.kind },
    });
    if (decision.kind === 'stop' && rec.config.remove_on_exit) {
      await this.d.workspaces.transitionLocked(id, 'delete', { by: 'policy' });
    }
  }
}

/**
 * One exit watch per running workspace, following its record (fed by the store
 * observer): armed when it runs, re-armed when it was started again, dropped otherwise.
 */
export class ExitWatch {
  private readonly watches = new Map<string, { key: string; stop: () => void }>();

  constructor(private readonly orch: WorkspaceBackend, private readonly handler: ExitHandler) {}

  sync(rec: WorkspaceRecord | null, id: string): void {
    const want = rec && rec.state === 'running' && !rec.pending && this.orch.owns(rec) ? String(rec.startedAt) : null;
    const cur = this.watches.get(id);
    if (cur && cur.key === want) return;
    cur?.stop();
    this.watches.delete(id);
    if (!rec || want === null) return;
    const entry = { key: want, stop: () => {} };
    this.watches.set(id, entry);
    void this.orch.watchExit(rec, () => void this.handler.check(id)).then((stop) => {
      if (this.watches.get(id) === entry) entry.stop = stop ?? (() => {});
      else stop?.();
    }, () => undefined);
  }

  close(): void {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }
}
