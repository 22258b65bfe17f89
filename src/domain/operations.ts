/**
 * Runs a recorded operation to completion. The caller has already written the
 * transitional state and `pending` to the store (intent first); this performs the
 * side effects and records the outcome. The reconciler calls the same function to
 * finish an operation a crash interrupted, so every branch is idempotent.
 */
import { AppError, isAppError } from '../contract/errors.js';
import { publicMessage } from '../contract/envelope.js';
import { archiveFileName } from '../contract/layers.js';
import type { PendingOperation, Store, WorkspaceRecord, LifecycleState } from '../store/store.js';
import type { WorkspaceBackend } from './backend.js';
import { faultPoint } from '../util/fault-points.js';

/** An operation's outcome, for the activity history. `rec` is the record as the operation found it (its intent). */
export interface OperationEvent {
  rec: WorkspaceRecord;
  op: PendingOperation['op'];
  /** The state it ended in; 'deleted' when the record is gone. */
  to: LifecycleState | 'deleted';
  /** The error code when it failed (to: 'failed') or was undone (to: the state it returned to). */
  error?: string;
}

export interface OperationHooks {
  /** Called after a workspace record is removed (token indexes, …). */
  onDeleted(rec: WorkspaceRecord): void;
  /** Called after an operation settled (e.g. to cut runtime connections on stop). */
  onSettled?(rec: WorkspaceRecord, op: PendingOperation['op']): void;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Called once per outcome, after it is stored (the activity history). Must not throw. */
  activity?(e: OperationEvent): void;
}

function finalState(p: PendingOperation): LifecycleState {
  switch (p.op) {
    case 'create': case 'start': case 'restart': case 'resume': return 'running';
    case 'stop': return 'stopped';
    case 'pause': return 'paused';
    case 'destroy': return 'archived';
    case 'restore': return p.then ?? 'running';
    case 'delete': throw new Error('delete has no final state');
  }
}

/** The operation failed but was undone: the workspace is as it was (its old layer intact), in `state`. */
class Reverted extends Error {
  constructor(override readonly cause: unknown, readonly state: LifecycleState) {
    super('reverted');
  }
}

async function returnTo(orch: WorkspaceBackend, rec: WorkspaceRecord, then: PendingOperation['then']): Promise<void> {
  if (then === 'running' || then === 'paused') await orch.bringUp(rec);
  if (then === 'paused') await orch.pause(rec);
}

/** Restore: the layer is replaced atomically, so a source that cannot be applied leaves the old one, brought back up. */
async function restore(orch: WorkspaceBackend, rec: WorkspaceRecord, p: PendingOperation): Promise<void> {
  const layers = orch.requireLayers();
  if (!p.source) throw new AppError('validation_error', 'Nothing to restore from', { field: 'source' });
  const source = await layers.resolve(rec, p.source);
  await orch.bringDown(rec);
  faultPoint('restore.brought-down');
  try {
    await layers.replace(rec, source);
    faultPoint('restore.layer-replaced');
  } catch (err) {
    if (!isAppError(err)) throw err;
    await returnTo(orch, rec, p.then);
    throw new Reverted(err, p.then ?? 'stopped');
  }
  await returnTo(orch, rec, p.then);
}

/** Destroy: the final archive first (when asked for; kept if a crash already completed it), then the sandbox. */
async function destroy(orch: WorkspaceBackend, store: Store, rec: WorkspaceRecord, p: PendingOperation): Promise<void> {
  if (p.archive) {
    const layers = orch.requireLayers();
    const existing = await store.getArchive(rec.id, p.archive.version);
    if (existing?.state !== 'ready') {
      const draft = { version: p.archive.version, format: p.archive.format, vmPaths: [], excludeVmPaths: [] };
      const job = await layers.beginArchive(rec, draft, archiveFileName(draft.version, draft.format));
      await layers.finishArchive(rec, job);
    }
  }
  await orch.destroySandbox(rec);
}

async function sideEffects(orch: WorkspaceBackend, store: Store, rec: WorkspaceRecord, p: PendingOperation): Promise<void> {
  const source = p.source && p.op !== 'restore' ? await orch.requireLayers().resolve(rec, p.source) : undefined;
  switch (p.op) {
    case 'create':
    case 'start':
      return orch.bringUp(rec, source);
    case 'restart':
      await orch.bringDown(rec);
      return orch.bringUp(rec);
    case 'stop':
      return orch.bringDown(rec);
    case 'pause':
      return orch.pause(rec);
    case 'resume':
      return orch.resume(rec);
    case 'delete':
      return orch.destroy(rec);
    case 'restore':
      return restore(orch, rec, p);
    case 'destroy':
      return destroy(orch, store, rec, p);
  }
}

/** The failure a workspace keeps and shows: a 5xx code keeps its fixed public message, never the thrown text. */
function failureOf(op: PendingOperation['op'], err: unknown): { code: string; message: string } {
  if (isAppError(err) && err.code !== 'server_error') return { code: err.code, message: publicMessage(err) };
  return {
    code: op === 'create' ? 'CREATE_FAILED' : 'server_error',
    message: `Workspace ${op} failed`,
  };
}

/**
 * Performs `rec.pending` and stores the result. Returns the final record, or null
 * when the workspace was deleted. Failures leave the workspace `failed` with the
 * error recorded (never a raw internal message) and rethrow as AppError.
 */
export async function runPending(
  store: Store,
  orch: WorkspaceBackend,
  rec: WorkspaceRecord,
  hooks: OperationHooks,
): Promise<WorkspaceRecord | null> {
  const pending = rec.pending;
  if (!pending) return rec;
  try {
    await sideEffects(orch, store, rec, pending);
    faultPoint('op.side-effects-done');
  } catch (err) {
    if (err instanceof Reverted) {
      hooks.log('warn', 'workspace operation undone', { id: rec.id, op: pending.op, err: String(err.cause) });
      await store.updateWorkspace({ ...rec, state: err.state, pending: null });
      hooks.activity?.({ rec, op: pending.op, to: err.state, error: isAppError(err.cause) ? err.cause.code : 'server_error' });
      throw err.cause;
    }
    hooks.log('error', 'workspace operation failed', { id: rec.id, op: pending.op, err: String(err) });
    const error = failureOf(pending.op, err);
    const failed = await store.updateWorkspace({ ...rec, state: 'failed', pending: null, error });
    hooks.activity?.({ rec, op: pending.op, to: 'failed', error: error.code });
    if (pending.op !== 'create') {
      throw new AppError(isAppError(err) ? err.code : 'server_error', error.message, isAppError(err) ? err.details : undefined);
    }
    return failed;
  }
  hooks.onSettled?.(rec, pending.op);
  if (pending.op === 'delete') {
    await store.deleteWorkspace(rec.id);
    faultPoint('op.record-deleted');
    hooks.onDeleted(rec);
    hooks.activity?.({ rec, op: pending.op, to: 'deleted' });
    return null;
  }
  const state = finalState(pending);
  const fresh = state === 'running' && pending.op !== 'resume';
  const done = await store.updateWorkspace({
    ...rec,
    state,
    pending: null,
    error: null,
    startedAt: state === 'running' || state === 'paused' ? (fresh ? new Date().toISOString() : rec.startedAt) : null,
  });
  hooks.activity?.({ rec, op: pending.op, to: state });
  faultPoint('op.outcome-stored');
  return done;
}
