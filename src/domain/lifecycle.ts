/**
 * The workspace lifecycle as data. Every power action names the states it may start
 * from, the transitional state recorded (as intent) while its side effects run, and
 * the state it ends in. States where the action is already satisfied are `noop`
 * (stop on a stopped workspace succeeds without doing anything). Anything else is
 * an illegal transition: 409 `invalid_state` carrying the current state.
 */
import { AppError } from '../contract/errors.js';
import type { LifecycleState } from '../store/store.js';

export type PowerAction = 'start' | 'stop' | 'restart' | 'pause' | 'resume' | 'delete' | 'restore' | 'destroy';

export interface Transition {
  from: readonly LifecycleState[];
  noop: readonly LifecycleState[];
  via: LifecycleState;
  /** Final state; null for delete (the record is removed) and restore (it returns to where it was). */
  to: LifecycleState | null;
}

const SETTLED: readonly LifecycleState[] = ['running', 'paused', 'stopped', 'failed', 'archived'];
/** States in which the workspace has a writable layer that can be snapshotted, archived or forked. */
const WITH_LAYER: readonly LifecycleState[] = ['running', 'paused', 'stopped'];

export const TRANSITIONS: Readonly<Record<PowerAction, Transition>> = {
  // Starting an archived workspace re-creates its sandbox, from its latest archive when it has one.
  start: { from: ['stopped', 'failed', 'archived'], noop: ['running'], via: 'starting', to: 'running' },
  stop: { from: ['running', 'paused', 'failed'], noop: ['stopped'], via: 'stopping', to: 'stopped' },
  restart: { from: ['running', 'paused', 'stopped', 'failed'], noop: [], via: 'restarting', to: 'running' },
  pause: { from: ['running'], noop: ['paused'], via: 'pausing', to: 'paused' },
  resume: { from: ['paused'], noop: ['running'], via: 'resuming', to: 'running' },
  // A creating workspace may be deleted: the delete waits for the create's lock.
  delete: { from: [...SETTLED, 'creating'], noop: [], via: 'deleting', to: null },
  restore: { from: [...WITH_LAYER, 'failed'], noop: [], via: 'restoring', to: null },
  // Destroy the sandbox and its layer, keep the record (and its archives): `archived`.
  destroy: { from: [...WITH_LAYER, 'failed'], noop: ['archived'], via: 'destroying', to: 'archived' },
};

/** Operations on the writable layer that change no state; each names where it is allowed. */
export const LAYER_ACTIONS = {
  snapshot: WITH_LAYER,
  archive: WITH_LAYER,
  fork: WITH_LAYER,
} as const;

/** Throws 409 invalid_state unless `action` is allowed in `current`. */
export function requireLayerState(current: LifecycleState, action: keyof typeof LAYER_ACTIONS): void {
  const allowed: readonly LifecycleState[] = LAYER_ACTIONS[action];
  if (allowed.includes(current)) return;
  throw new AppError('invalid_state', `Cannot ${action} a workspace that is ${current}`, {
    field: 'status', current_state: current, action, allowed_from: [...allowed],
  });
}

export type Plan = { kind: 'go'; via: LifecycleState; to: LifecycleState | null } | { kind: 'noop' };

/** Decides what `action` means in `current`; throws 409 invalid_state when illegal. */
export function planTransition(current: LifecycleState, action: PowerAction): Plan {
  const t = TRANSITIONS[action];
  if (t.noop.includes(current)) return { kind: 'noop' };
  if (t.from.includes(current)) return { kind: 'go', via: t.via, to: t.to };
  throw new AppError('invalid_state', `Cannot ${action} a workspace that is ${current}`, {
    field: 'status',
    current_state: current,
    action,
    allowed_from: [...t.from],
  });
}

/** States in which the workspace's processes exist (running or frozen). */
export function isLive(state: LifecycleState): boolean {
  return state === 'running' || state === 'paused' || state === 'pausing' || state === 'resuming';
}

/** Transitional states that a crash can leave behind; the reconciler finishes them. */
export function isTransitional(state: LifecycleState): boolean {
  return !SETTLED.includes(state);
}
