/**
 * Record-only changes of a workspace (lifecycle settings, metadata): they touch no sandbox, so
 * they must not sit behind a queue of long operations (restarts, snapshots, archives) on the
 * same workspace's lock. They arrive parsed from the edge (src/contract/lifecycle.ts: a refusal
 * never waits), and they wait for the lock at most RECORD_LOCK_WAIT_MS, then answer 409 `conflict` with
 * `retry_after` (issue 15: such a call once waited more than 10 s).
 */
import { AppError } from '../contract/errors.js';
import type { IdlePolicy, RestartPolicy } from '../contract/lifecycle.js';
import type { WorkspaceRecord } from '../store/store.js';

export const RECORD_LOCK_WAIT_MS = 5_000;

export interface LifecycleChange {
  mode?: 'permanent' | 'temporary';
  ttl?: number | null;
  ttl_action?: WorkspaceRecord['config']['ttl_action'];
  remove_on_exit?: boolean;
  restart_policy?: RestartPolicy;
  renew?: boolean;
  /** Replaces config.extra.idle (null removes it). */
  idle?: IdlePolicy | null;
}

/** The 409 of a record-only change that found the workspace busy past the bound. */
export function workspaceBusy(id: string): AppError {
  return new AppError('conflict', `Workspace ${id} is busy with other operations; retry shortly`, {
    field: 'id', reason: 'busy', retry_after: 1,
  });
}

/** `rec` with `ch` applied (mode and config); `ch` comes parsed from the edge, so nothing here refuses. */
export function applyLifecycleChange(rec: WorkspaceRecord, ch: LifecycleChange): WorkspaceRecord {
  const config = { ...rec.config, extra: { ...rec.config.extra } };
  if (ch.restart_policy !== undefined) config.restart_policy = ch.restart_policy;
  if (ch.remove_on_exit !== undefined) config.remove_on_exit = ch.remove_on_exit;
  if (ch.ttl !== undefined) config.ttl = ch.ttl;
  if (ch.ttl_action !== undefined) config.ttl_action = ch.ttl_action;
  if (ch.renew || ch.ttl !== undefined) config.extra.ttl_renewed_at = new Date().toISOString();
  if (ch.idle !== undefined) {
    if (ch.idle === null) delete config.extra.idle;
    else config.extra.idle = ch.idle;
  }
  const mode = ch.mode ?? rec.mode;
  if (mode === 'permanent') config.ttl = null;
  return { ...rec, mode, config };
}
