/**
 * Record-only changes of a workspace (lifecycle settings, metadata): they touch no sandbox, so
 * they must not sit behind a queue of long operations (restarts, snapshots, archives) on the
 * same workspace's lock. They are validated before the lock is taken (a refusal never waits),
 * and they wait for the lock at most RECORD_LOCK_WAIT_MS, then answer 409 `conflict` with
 * `retry_after` (issue 15: such a call once waited more than 10 s).
 */
import { AppError } from '../contract/errors.js';
import type { IdlePolicy } from '../contract/lifecycle.js';
import { parseConfig } from '../contract/workspace.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { QuotaPolicy } from './quota.js';

export const RECORD_LOCK_WAIT_MS = 5_000;

export interface LifecycleChange {
  mode?: 'permanent' | 'temporary';
  ttl?: number | null;
  ttl_action?: WorkspaceRecord['config']['ttl_action'];
  remove_on_exit?: unknown;
  restart_policy?: unknown;
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

/** `rec` with `ch` applied (mode and config); throws validation errors, touches nothing. */
export function applyLifecycleChange(rec: WorkspaceRecord, ch: LifecycleChange, policy: QuotaPolicy): WorkspaceRecord {
  const config = { ...rec.config, extra: { ...rec.config.extra } };
  if (ch.restart_policy !== undefined) {
    config.restart_policy = parseConfig({ restart_policy: ch.restart_policy }, config, policy.limits, rec.mode).restart_policy;
  }
  if (ch.remove_on_exit !== undefined) {
    if (typeof ch.remove_on_exit !== 'boolean') throw new AppError('validation_error', 'remove_on_exit must be a boolean', { field: 'remove_on_exit' });
    config.remove_on_exit = ch.remove_on_exit;
  }
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
