/**
 * Idle sleep and wake on request (spec §3 idle rules; Fly's autostop/autostart on one
 * host). A permanent workspace with an idle policy and no traffic for `suspend_after`
 * is paused — its processes frozen, their memory kept — and marked asleep; after
 * `stop_after` asleep it is stopped (memory released, files kept). The next request to
 * its gateway or one of its public ports wakes it: the request waits for the resume (or
 * the boot) and is then served. Concurrent wakes of one workspace share one operation.
 */
import { AppError } from '../contract/errors.js';
import type { IdlePolicy } from '../contract/lifecycle.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { ActivityTracker } from './activity.js';
import { idleOf } from './deadlines.js';
import type { WorkspaceService } from './workspaces.js';

export interface IdleDeps {
  store: Store;
  workspaces: WorkspaceService;
  activity: ActivityTracker;
  /** Smallest suspend_after / non-zero stop_after an owner may set (seconds). */
  minSuspendS: number;
  minStopS: number;
  /** Whether the driver can pause (the policy needs it). */
  canSleep: boolean;
}

export class IdleService {
  private readonly waking = new Map<string, Promise<WorkspaceRecord>>();

  constructor(private readonly d: IdleDeps) {}

  /** Checks a policy against the operator's minimums and the workspace's mode (permanent only). */
  validate(mode: WorkspaceRecord['mode'], policy: IdlePolicy | null): void {
    if (policy === null) return;
    if (!this.d.canSleep) throw new AppError('idle_not_allowed', 'This driver cannot suspend workspaces', { field: 'suspend_after' });
    if (mode !== 'permanent') {
      throw new AppError('idle_not_allowed', 'Automatic sleep is for permanent workspaces; temporary ones have a TTL', { field: 'mode' });
    }
    if (policy.suspend_after < this.d.minSuspendS) {
      throw new AppError('validation_error', `suspend_after must be at least ${this.d.minSuspendS} seconds (0 disables)`, {
        field: 'suspend_after', minimum: this.d.minSuspendS,
      });
    }
    if (policy.stop_after !== 0 && policy.stop_after < this.d.minStopS) {
      throw new AppError('validation_error', `stop_after must be 0 or at least ${this.d.minStopS} seconds`, {
        field: 'stop_after', minimum: this.d.minStopS,
      });
    }
  }

  /** Puts a running workspace to sleep if it is still idle. */
  async sleep(id: string): Promise<void> {
    if (this.d.activity.busy(id)) return;
    const rec = await this.d.store.getWorkspace(id);
    if (!rec || rec.state !== 'running' || !idleOf(rec.config)) return;
    await this.d.workspaces.power(id, 'pause', { by: 'idle' });
  }

  /**
   * Resumes (or boots) a sleeping workspace; resolves with its record once it runs.
   * A workspace that is not asleep is returned as it is.
   */
  wake(id: string): Promise<WorkspaceRecord> {
    let p = this.waking.get(id);
    if (!p) {
      p = this.wakeNow(id).finally(() => this.waking.delete(id));
      this.waking.set(id, p);
    }
    return p;
  }

  private async wakeNow(id: string): Promise<WorkspaceRecord> {
    this.d.activity.touch(id);
    const rec = await this.d.workspaces.withLock(id, async () => {
      const cur = await this.d.workspaces.get(id);
      if (!cur.lifecycle.asleep) return cur;
      const action = cur.state === 'paused' ? 'resume' : 'start';
      return (await this.d.workspaces.transitionLocked(id, action, { by: 'wake' })) ?? cur;
    });
    this.d.activity.touch(id);
    return rec;
  }
}
