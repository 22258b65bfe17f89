/**
 * What a power action changes in a record besides its state, by who asked for it
 * (pure; unit-tested). The restart policy's counter belongs to the policy: a user's
 * start resets it, the policy's own start counts one. The idle policy's sleep mark is
 * set by the idle policy and cleared by anything else that moves the workspace.
 */
import type { LifecycleInfo, PendingOperation, WorkspaceRecord } from '../store/store.js';
import type { PowerAction } from './lifecycle.js';

/** Who started a transition. */
export type Origin = 'user' | 'ttl' | 'policy' | 'idle' | 'wake';

export interface TransitionOptions {
  by?: Origin;
  source?: PendingOperation['source'];
  then?: PendingOperation['then'];
  archive?: PendingOperation['archive'];
}

export function pendingFor(action: PowerAction, o: TransitionOptions, now: string): PendingOperation {
  const p: PendingOperation = { op: action, startedAt: now };
  if (o.source) p.source = o.source;
  if (o.then) p.then = o.then;
  if (o.archive) p.archive = o.archive;
  if (o.by && o.by !== 'user') {
    p.automatic = true;
    p.by = o.by;
  }
  return p;
}

export function lifecycleAfter(info: LifecycleInfo, action: PowerAction, by: Origin, now: string): LifecycleInfo {
  const restart = { ...info.restart };
  let asleep = info.asleep;
  if (by === 'idle' && (action === 'pause' || action === 'stop')) {
    asleep = { since: now, state: action === 'pause' ? 'paused' : 'stopped' };
  } else if (action !== 'delete') {
    asleep = null;
  }
  if (by === 'policy' && action === 'start') {
    restart.count += 1;
    restart.last_restart_at = now;
    restart.next_restart_at = null;
  } else if (by === 'user' && (action === 'start' || action === 'restart')) {
    restart.count = 0;
    restart.next_restart_at = null;
  } else if (action === 'stop' || action === 'destroy' || action === 'restore') {
    restart.next_restart_at = null;
  }
  return { restart, asleep };
}

/** The record as the intent of `action` is written (before any side effect). */
export function intentOf(rec: WorkspaceRecord, action: PowerAction, o: TransitionOptions, via: WorkspaceRecord['state'], now: string): WorkspaceRecord {
  const by = o.by ?? 'user';
  const next: WorkspaceRecord = {
    ...rec,
    state: via,
    pending: { ...pendingFor(action, o, now), from: rec.state },
    lifecycle: lifecycleAfter(rec.lifecycle, action, by, now),
  };
  if (by === 'user' && action === 'stop') next.userRequestedStop = true;
  if (by === 'user' && (action === 'start' || action === 'restart')) next.userRequestedStop = false;
  // A resumed workspace's TTL runs from the resume, or a TTL pause would strike again at once.
  if (action === 'resume' && by !== 'idle') next.config = { ...rec.config, extra: { ...rec.config.extra, ttl_renewed_at: now } };
  return next;
}
