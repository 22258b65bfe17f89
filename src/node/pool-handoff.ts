/**
 * A node's warm pool as control replicas use it (issue 16): the node API's `pool-take`,
 * `pool-assign` and `pool-put-back` ops (src/node/node-api.ts) run here, over the node's
 * local backend (the Orchestrator and its WarmPool, src/domain/warm-pool.ts).
 *
 * A replica takes a ready sandbox inside its reservation (under the cluster-wide create
 * lock), stores the record that holds it, then assigns it (or puts it back when the insert
 * failed). The pool hands a sandbox to one take only. A replica can die between take and
 * assign, so a take not assigned or put back within `holdMs` (30 s) is settled here, under
 * the node's create lock (no reservation runs meanwhile, so no insert is half done):
 * - a stored record of this node holds its address and short id → it is assigned to that
 *   record (the other replica that finishes the orphaned create boots it by adoption);
 * - none does → it is put back in the pool, unused (a pooled sandbox was never handed to
 *   anyone: nothing but the host reached it), so it serves the next create.
 * A late assign or put-back after that is a no-op (the backend's calls are idempotent), and
 * a `bringUp` of the record before any of this adopts the taken sandbox all the same
 * (WarmPool.claim with the record as holder).
 */
import type { PoolOffer, PoolWant, ReadySandbox, WorkspaceBackend } from '../domain/backend.js';

/** How long a take waits for its assignment before the node settles it. */
export const POOL_HOLD_MS = 30_000;

export interface PoolHandoffOptions {
  nodeId: string;
  backend: WorkspaceBackend;
  holdMs?: number;
  /** Runs `fn` under the create lock (default: as is; a node passes its domain's). */
  underCreateLock?<T>(fn: () => Promise<T>): Promise<T>;
  /** The id of the stored record of this node holding `ready` (its address and short id); null when none. */
  holderOf?(ready: ReadySandbox): Promise<string | null>;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export class PoolHandoff {
  /** Takes not settled yet: short id → expiry timer. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly o: PoolHandoffOptions) {}

  async take(want: PoolWant | null): Promise<PoolOffer> {
    const offer = await this.o.backend.takeReady(this.o.nodeId, want);
    const ready = offer.ready;
    if (ready && !this.closed) {
      const timer = setTimeout(() => void this.expire(ready), this.o.holdMs ?? POOL_HOLD_MS);
      timer.unref();
      this.pending.set(ready.shortId, timer);
    }
    return offer;
  }

  async assign(workspaceId: string, ready: ReadySandbox): Promise<void> {
    this.forget(ready);
    await this.o.backend.assignReady(this.o.nodeId, workspaceId, ready);
  }

  async putBack(ready: ReadySandbox): Promise<void> {
    this.forget(ready);
    await this.o.backend.putBackReady(this.o.nodeId, ready);
  }

  /** Takes waiting for their assignment now. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Stops the timers (the node stops; its pool destroys what is taken and unassigned). */
  close(): void {
    this.closed = true;
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private forget(ready: ReadySandbox): void {
    clearTimeout(this.pending.get(ready.shortId));
    this.pending.delete(ready.shortId);
  }

  /** A take nobody assigned in time: to the record that holds it, else back to the pool. */
  private async expire(ready: ReadySandbox): Promise<void> {
    this.pending.delete(ready.shortId);
    const locked = this.o.underCreateLock?.bind(this.o) ?? (<T>(fn: () => Promise<T>) => fn());
    try {
      await locked(async () => {
        const holder = (await this.o.holderOf?.(ready)) ?? null;
        if (holder) await this.o.backend.assignReady(this.o.nodeId, holder, ready);
        else await this.o.backend.putBackReady(this.o.nodeId, ready);
        this.o.log?.('warm pool: a take was not assigned in time', { shortId: ready.shortId, outcome: holder ? `assigned to ${holder}` : 'put back' });
      });
    } catch (err) {
      this.o.log?.('warm pool: settling an unassigned take failed', { shortId: ready.shortId, err: String(err) });
    }
  }
}
