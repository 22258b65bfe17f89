/**
 * Finishing the operations of a replica that died (issue 16, roles). On a single host the
 * reconciler finishes every interrupted operation at start-up, because the host that runs
 * the sandbox is the one that restarts. A control replica owns no host: its reconciler has
 * no records of its own (`backend.owns` is false for all), and a replica killed mid-create
 * never comes back to finish it. So every control replica sweeps for orphans instead:
 *
 * - a record with `pending` set whose last write is older than `staleMs` is a candidate
 *   (a fresh one is most likely being run right now by the replica that wrote it);
 * - the candidate's operation runs under the workspace's operation lease, taken without
 *   waiting (`runWithin(id, 0, …)`): while the replica that started it is alive it holds
 *   the lease and the sweep skips the record; once that replica is dead its lease expires
 *   and the first replica to take it finishes the operation;
 * - the record is read again under the lease and run only if still pending, and every
 *   operation is idempotent, so a replica that took over late, or two sweeps in turn,
 *   converge on one outcome.
 *
 * The node daemon does not finish operations (src/server-node.ts): the control plane
 * started them and finishes them, the node only executes what its node API is told.
 */
import type { Store } from '../store/store.js';
import type { WorkspaceBackend } from './backend.js';
import { runPending, type OperationHooks } from './operations.js';
import type { CoordinationPort } from './ports.js';

/** A pending record untouched this long is finished by whichever replica sweeps first. */
export const ORPHAN_STALE_MS = 10_000;

class LeaseBusy extends Error {}

export interface OrphanSweepDeps {
  store: Store;
  coordination: Pick<CoordinationPort, 'runWithin'>;
  backend: WorkspaceBackend;
  hooks: OperationHooks;
  staleMs?: number;
  now?: () => number;
}

export class OrphanedOperations {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(private readonly d: OrphanSweepDeps) {}

  /** One pass; resolves with how many operations it finished. Never throws. */
  sweep(): Promise<number> {
    this.sweeping ??= this.pass().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  private async pass(): Promise<number> {
    const { store, coordination, backend, hooks } = this.d;
    const now = (this.d.now ?? Date.now)();
    const staleMs = this.d.staleMs ?? ORPHAN_STALE_MS;
    let finished = 0;
    try {
      const stale = (await store.allWorkspaces()).filter((r) => r.pending && now - Date.parse(r.updatedAt) >= staleMs);
      for (const rec of stale) {
        try {
          const ran = await coordination.runWithin(rec.id, 0, () => new LeaseBusy(), async () => {
            const current = await store.getWorkspace(rec.id);
            if (!current?.pending) return false;
            hooks.log('warn', 'finishing an operation its replica left', { id: rec.id, op: current.pending.op });
            await runPending(store, backend, current, hooks);
            return true;
          });
          if (ran) finished++;
        } catch (err) {
          if (!(err instanceof LeaseBusy)) hooks.log('error', 'finishing a left operation failed', { id: rec.id, err: String(err) });
        }
      }
    } catch (err) {
      hooks.log('error', 'the orphaned-operation sweep failed', { err: String(err) });
    }
    return finished;
  }
}
