/**
 * Runs what is due to workspaces by themselves (src/domain/deadlines.ts): TTL actions,
 * restart-policy restarts, idle sleep and idle stop. One timer per workspace and kind,
 * re-armed whenever the workspace's record changes (the store is observed) or its
 * traffic stops; at start every record is armed, so what fell due while the server
 * was down fires at once. When a timer fires the deadline is recomputed from the
 * current record before anything is done: a stale timer is a no-op.
 */
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { ActivityTracker } from './activity.js';
import { deadlinesOf, idleOf, Timers, type DeadlineKind } from './deadlines.js';
import type { IdleService } from './idle.js';
import type { WorkspaceService } from './workspaces.js';

export interface SchedulerDeps {
  store: Store;
  workspaces: WorkspaceService;
  idle: IdleService;
  activity: ActivityTracker;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const KINDS: DeadlineKind[] = ['ttl', 'restart', 'idle-suspend', 'idle-stop'];

export class LifecycleScheduler {
  private readonly timers = new Timers();
  private readonly since = Date.now();
  /** Workspaces with an idle policy: only their traffic moves a deadline (no store read per request otherwise). */
  private readonly withIdle = new Set<string>();
  private closed = false;
  /** Another replica leads: no deadline is armed here (issue 16; a single host always leads). */
  private standby = false;

  constructor(private readonly d: SchedulerDeps) {
    d.activity.onIdle((id) => {
      if (this.withIdle.has(id)) void this.refreshId(id);
    });
  }

  /** Arms every record's deadlines (at start, and when this instance becomes the leader). */
  async armAll(): Promise<void> {
    this.standby = false;
    for (const rec of await this.d.store.allWorkspaces()) this.refresh(rec);
  }

  /** Re-arms the timers of one workspace from its record (null: it is gone). */
  refresh(rec: WorkspaceRecord | null, id = rec?.id): void {
    if (!id || this.closed || this.standby) return;
    if (rec && idleOf(rec.config)) this.withIdle.add(id);
    else this.withIdle.delete(id);
    const due = rec ? deadlinesOf(rec, this.activityOf(id)) : [];
    for (const kind of KINDS) {
      const d = due.find((x) => x.kind === kind);
      if (d) this.timers.set(`${id}:${kind}`, d.at, () => void this.fire(id, kind));
      else this.timers.clear(`${id}:${kind}`);
    }
  }

  private async refreshId(id: string): Promise<void> {
    this.refresh(await this.d.store.getWorkspace(id), id);
  }

  private activityOf(id: string) {
    return { lastMs: this.d.activity.lastAt(id), busy: this.d.activity.busy(id), sinceMs: this.since };
  }

  /** Armed keys (`<id>:<kind>`), for tests and diagnostics. */
  armed(): string[] {
    return this.timers.keys();
  }

  /** This instance stopped leading: its timers go, and none is armed until `armAll`. */
  standDown(): void {
    this.standby = true;
    this.timers.clearAll();
  }

  close(): void {
    this.closed = true;
    this.timers.clearAll();
  }

  private async fire(id: string, kind: DeadlineKind): Promise<void> {
    const rec = await this.d.store.getWorkspace(id);
    const still = rec ? deadlinesOf(rec, this.activityOf(id)).find((x) => x.kind === kind) : undefined;
    if (!rec || !still || still.at > Date.now() + 5) {
      this.refresh(rec, id);
      return;
    }
    try {
      await this.act(rec, kind);
    } catch (err) {
      this.d.log('error', 'scheduled lifecycle action failed', { id, kind, err: String(err) });
      await this.d.workspaces.recordScheduleFailure(id, kind, err).catch(() => undefined);
    }
    await this.refreshId(id);
  }

  private async act(rec: WorkspaceRecord, kind: DeadlineKind): Promise<void> {
    const w = this.d.workspaces;
    switch (kind) {
      case 'ttl': {
        const a = rec.config.ttl_action;
        this.d.log('info', 'ttl expired', { id: rec.id, action: a });
        await w.power(rec.id, a === 'remove' ? 'delete' : a === 'stop' ? 'stop' : 'pause', { by: 'ttl' });
        return;
      }
      case 'restart':
        this.d.log('info', 'restart policy: starting the workspace again', { id: rec.id, count: rec.lifecycle.restart.count + 1 });
        await w.power(rec.id, 'start', { by: 'policy' });
        return;
      case 'idle-suspend':
        if (idleOf(rec.config)) await this.d.idle.sleep(rec.id);
        return;
      case 'idle-stop':
        await w.power(rec.id, 'stop', { by: 'idle' });
        return;
    }
  }
}
