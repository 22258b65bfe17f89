/**
 * Runs a recorded operation to completion. The caller has already written the
 * transitional state and `pending` to the store (intent first); this performs the
 * side effects and records the outcome. The reconciler calls the same function to
 * finish an operation a crash interrupted, so every branch is idempotent.
 */
import { AppError, isAppError } from '../contract/errors.js';
import type { PendingOperation, Store, WorkspaceRecord, LifecycleState } from '../store/store.js';
import type { Orchestrator } from './orchestrator.js';

export interface OperationHooks {
  /** Called after a workspace record is removed (token indexes, …). */
  onDeleted(rec: WorkspaceRecord): void;
  /** Called after an operation settled (e.g. to cut runtime connections on stop). */
  onSettled?(rec: WorkspaceRecord, op: PendingOperation['op']): void;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const FINAL: Record<Exclude<PendingOperation['op'], 'delete'>, LifecycleState> = {
  create: 'running',
  start: 'running',
  restart: 'running',
  resume: 'running',
  stop: 'stopped',
  pause: 'paused',
};

async function sideEffects(orch: Orchestrator, rec: WorkspaceRecord, op: PendingOperation['op']): Promise<void> {
  switch (op) {
    case 'create':
    case 'start':
      return orch.bringUp(rec);
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
  }
}

function failureOf(op: PendingOperation['op'], err: unknown): { code: string; message: string } {
  if (isAppError(err) && err.code !== 'server_error') return { code: err.code, message: err.message };
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
  orch: Orchestrator,
  rec: WorkspaceRecord,
  hooks: OperationHooks,
): Promise<WorkspaceRecord | null> {
  const pending = rec.pending;
  if (!pending) return rec;
  try {
    await sideEffects(orch, rec, pending.op);
  } catch (err) {
    hooks.log('error', 'workspace operation failed', { id: rec.id, op: pending.op, err: String(err) });
    const error = failureOf(pending.op, err);
    const failed = await store.updateWorkspace({ ...rec, state: 'failed', pending: null, error });
    if (pending.op !== 'create') throw new AppError(isAppError(err) ? err.code : 'server_error', error.message);
    return failed;
  }
  hooks.onSettled?.(rec, pending.op);
  if (pending.op === 'delete') {
    await store.deleteWorkspace(rec.id);
    hooks.onDeleted(rec);
    return null;
  }
  const state = FINAL[pending.op];
  const startedAt = state === 'running' && pending.op !== 'resume' ? new Date().toISOString() : rec.startedAt;
  return store.updateWorkspace({
    ...rec,
    state,
    pending: null,
    error: null,
    startedAt: state === 'stopped' ? null : startedAt,
  });
}
