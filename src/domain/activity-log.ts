/**
 * The activity history: one entry per completed or failed lifecycle operation, with
 * the states it went between, who caused it (origin) and why (reason). Fed by the
 * `activity` hook of runPending (src/domain/operations.ts); kept in the store after the
 * workspace is deleted, until retention (`sweep`).
 *
 * Origins: `user`, `ttl`, `idle`, `wake`, `restart_policy` (a start by the restart
 * policy after the main process ended; reason: its exit code or `out of memory`),
 * `remove_on_exit` (the delete that follows such an exit). Failures are entries of type
 * `failed` carrying only the error code (never internal text).
 */
import { activityId, type ActivityQuery, type ActivityType } from '../contract/usage.js';
import type { ActivityRecord, Store } from '../store/store.js';
import type { OperationEvent } from './operations.js';

/** What an entry says; `id` and `at` are added when it is stored. */
export type ActivityEntry = Omit<ActivityRecord, 'id' | 'at'> & { type: ActivityType };

const TYPE_OF: Record<OperationEvent['op'], ActivityType> = {
  create: 'created', start: 'started', stop: 'stopped', pause: 'paused', resume: 'resumed',
  restart: 'restarted', delete: 'deleted', restore: 'restored', destroy: 'archived',
};

function exitReason(restart: OperationEvent['rec']['lifecycle']['restart']): string {
  if (restart.last_exit_reason === 'oom') return 'out of memory';
  return restart.last_exit_code === null ? 'exited' : `exit code ${restart.last_exit_code}`;
}

/** The entry an operation's outcome makes (pure). */
export function activityFor(e: OperationEvent): ActivityEntry {
  const { rec, op } = e;
  const by = rec.pending?.by ?? 'user';
  const restart = rec.lifecycle.restart;
  let type = TYPE_OF[op];
  let origin: string = by;
  let reason: string | null = null;
  const details: Record<string, unknown> = { op };
  if (by === 'policy' && op === 'start') {
    type = 'restarted';
    origin = 'restart_policy';
    reason = exitReason(restart);
    Object.assign(details, { restart_count: restart.count, exit_code: restart.last_exit_code, exit_reason: restart.last_exit_reason });
  } else if (by === 'policy' && op === 'delete') {
    origin = 'remove_on_exit';
    reason = exitReason(restart);
  } else if (by === 'ttl') {
    reason = 'ttl expired';
  } else if (by === 'idle') {
    reason = 'no traffic';
  } else if (by === 'wake') {
    reason = 'request arrived';
  }
  if (e.error) {
    type = 'failed';
    details.code = e.error;
    if (e.to !== 'failed') details.reverted = true;
  }
  return {
    workspace_id: rec.id, type, from_state: rec.pending?.from ?? null, to_state: e.to, origin, reason, details,
  };
}

/**
 * What happened to a workspace outside runPending: its main process (or a workload with
 * vm_on_exit "exit") ended by itself, a snapshot was taken, it was forked.
 */
export interface LifecycleNote {
  workspaceId: string;
  type: 'exited' | 'snapshot' | 'forked';
  from: string | null;
  to: string | null;
  origin: string;
  reason: string | null;
  details: Record<string, unknown>;
}

export type NoteLifecycle = (note: LifecycleNote) => void;

export function noteEntry(n: LifecycleNote): ActivityEntry {
  return {
    workspace_id: n.workspaceId, type: n.type, from_state: n.from, to_state: n.to, origin: n.origin, reason: n.reason, details: n.details,
  };
}

export interface ActivityLogDeps {
  store: Store;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

export class ActivityLog {
  /** Writes in the order they were recorded; `flush()` waits for them. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ActivityLogDeps) {}

  /** Appends an entry. Never throws: a failed write is logged, the operation it describes stands. */
  record(entry: ActivityEntry): void {
    const at = new Date((this.d.now ?? Date.now)()).toISOString();
    this.queue = this.queue.then(() => this.d.store.addActivity({ ...entry, at })).catch((err) =>
      this.d.log('error', 'recording activity failed', { id: entry.workspace_id, type: entry.type, err: String(err) }));
  }

  /** The runPending hook. */
  readonly onOperation = (e: OperationEvent): void => this.record(activityFor(e));

  async flush(): Promise<void> {
    await this.queue;
  }

  /** Newest first; waits for entries recorded before the call. */
  /** `workspaceIds` narrows to a scoped caller's workspaces. */
  async list(q: ActivityQuery & { workspaceIds?: string[] }): Promise<ActivityRecord[]> {
    await this.flush();
    return this.d.store.listActivity(q);
  }

  /** Retention: drops entries older than `days` and beyond `maxPerWorkspace` per workspace. */
  async sweep(days: number, maxPerWorkspace: number): Promise<number> {
    await this.flush();
    const cut = new Date((this.d.now ?? Date.now)() - days * 86_400_000).toISOString();
    return this.d.store.pruneActivity(cut, maxPerWorkspace);
  }
}

/** An entry as the API shows it. */
export function activityView(r: ActivityRecord) {
  return {
    id: activityId(r.id), workspace_id: r.workspace_id, type: r.type, from_state: r.from_state, to_state: r.to_state,
    origin: r.origin, reason: r.reason, at: r.at, details: r.details,
  };
}
