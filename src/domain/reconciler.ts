/**
 * Makes the host match the store, at start-up and then periodically.
 *
 * At start (after a restart or a kill -9 of the server):
 * - a record with `pending` set had an operation interrupted: it is run again
 *   (every operation is idempotent), so a create in flight finishes;
 * - a settled record is compared with what the driver finds: a running workspace
 *   whose sandbox died is booted again, a stopped one whose processes survived is
 *   stopped, a live one is re-registered with the firewall;
 * - sandboxes on the host that no record owns (residue of a deleted or never
 *   recorded workspace) are removed.
 *
 * Periodically: a running workspace whose sandbox died is restarted per its
 * restart_policy or marked stopped; a temporary workspace past its TTL gets its
 * ttl_action.
 */
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { Orchestrator } from './orchestrator.js';
import { runPending, type OperationHooks } from './operations.js';
import type { WorkspaceService } from './workspaces.js';
import { ttlExpiresAt } from './view.js';

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private readonly restarts = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly orch: Orchestrator,
    private readonly workspaces: WorkspaceService,
    private readonly hooks: OperationHooks,
  ) {}

  async reconcileAll(): Promise<{ resumed: number; repaired: number; residue: number }> {
    const records = await this.store.allWorkspaces();
    const known = new Set(records.map((r) => r.shortId));
    let residue = 0;
    for (const shortId of await this.orch.residue()) {
      if (known.has(shortId)) continue;
      this.hooks.log('warn', 'removing sandbox residue no record owns', { shortId });
      await this.orch.destroyResidue(shortId);
      residue++;
    }
    let resumed = 0;
    let repaired = 0;
    for (const rec of records) {
      try {
        if (rec.pending) {
          resumed++;
          await this.workspaces.withLock(rec.id, () => this.finish(rec.id));
        } else if (await this.workspaces.withLock(rec.id, () => this.repair(rec.id))) {
          repaired++;
        }
      } catch (err) {
        this.hooks.log('error', 'reconcile failed', { id: rec.id, err: String(err) });
      }
    }
    return { resumed, repaired, residue };
  }

  private async finish(id: string): Promise<void> {
    const rec = await this.store.getWorkspace(id);
    if (rec?.pending) await runPending(this.store, this.orch, rec, this.hooks);
  }

  /** Brings one settled workspace's sandbox in line with its state. Returns true if it acted. */
  private async repair(id: string): Promise<boolean> {
    const rec = await this.store.getWorkspace(id);
    if (!rec || rec.pending) return false;
    const actual = (await this.orch.inspect(rec)).state;
    if (rec.state === 'running' || rec.state === 'paused') {
      if (actual === 'running' || actual === 'paused') {
        await this.orch.reattach(rec);
        if (rec.state === 'paused' && actual === 'running') await this.orch.pause(rec);
        if (rec.state === 'running' && actual === 'paused') await this.orch.resume(rec);
        return rec.state !== actual;
      }
      await this.orch.bringUp(rec);
      if (rec.state === 'paused') await this.orch.pause(rec);
      await this.store.updateWorkspace({ ...rec, startedAt: new Date().toISOString() });
      return true;
    }
    if (rec.state === 'stopped' && (actual === 'running' || actual === 'paused')) {
      await this.orch.bringDown(rec);
      return true;
    }
    return false;
  }

  startSweeping(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stopSweeping(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass of the periodic checks; never throws. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const rec of await this.store.allWorkspaces()) {
        if (rec.state !== 'running' || rec.pending) continue;
        await this.checkTtl(rec).catch((err) => this.hooks.log('error', 'ttl action failed', { id: rec.id, err: String(err) }));
        await this.checkAlive(rec).catch((err) => this.hooks.log('error', 'liveness check failed', { id: rec.id, err: String(err) }));
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async checkTtl(rec: WorkspaceRecord): Promise<void> {
    const expires = ttlExpiresAt(rec);
    if (!expires || Date.parse(expires) > Date.now()) return;
    const action = rec.config.ttl_action === 'remove' ? 'delete' : rec.config.ttl_action === 'stop' ? 'stop' : 'pause';
    this.hooks.log('info', 'ttl expired', { id: rec.id, action });
    await this.workspaces.power(rec.id, action);
  }

  private async checkAlive(rec: WorkspaceRecord): Promise<void> {
    await this.workspaces.withLock(rec.id, async () => {
      const cur = await this.store.getWorkspace(rec.id);
      if (!cur || cur.state !== 'running' || cur.pending) return;
      const status = await this.orch.inspect(cur);
      if (status.state === 'running' || status.state === 'paused') return;
      await this.onExit(cur, status.reason ?? 'exited');
    });
  }

  private async onExit(rec: WorkspaceRecord, reason: string): Promise<void> {
    const count = this.restarts.get(rec.id) ?? 0;
    const policy = rec.config.restart_policy;
    const allowed = rec.config.max_restarts === 0 || count < rec.config.max_restarts;
    this.hooks.log('warn', 'workspace sandbox exited', { id: rec.id, reason, restarts: count });
    if (policy !== 'no' && allowed) {
      this.restarts.set(rec.id, count + 1);
      await this.orch.bringUp(rec);
      await this.store.updateWorkspace({ ...rec, startedAt: new Date().toISOString() });
      return;
    }
    await this.orch.bringDown(rec);
    const stopped = await this.store.updateWorkspace({ ...rec, state: 'stopped', startedAt: null,
      error: { code: reason === 'oom' ? 'oom_killed' : 'exited', message: `Workspace exited (${reason})` } });
    if (rec.config.remove_on_exit) {
      const intent = await this.store.updateWorkspace({ ...stopped, state: 'deleting', pending: { op: 'delete', startedAt: new Date().toISOString() } });
      await runPending(this.store, this.orch, intent, this.hooks);
    }
  }
}
