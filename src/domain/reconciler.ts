/**
 * Makes the host match the store, at start-up and then periodically.
 *
 * At start (after a restart or a kill -9 of the server):
 * - layers: snapshots and archives a crash interrupted are removed — rows still
 *   `pending`/`writing` and their files, files no row names, the temporary snapshots
 *   of archive writes — so no half archive and no orphaned layer survive;
 * - a record with `pending` set had an operation interrupted: it is run again
 *   (every operation is idempotent), so a create or fork in flight finishes;
 * - a settled record is compared with what the driver finds: a running workspace
 *   whose sandbox ended by itself meets its restart policy, one whose sandbox vanished
 *   otherwise (host reboot) is booted again, a stopped one whose processes survived is
 *   stopped, an archived one's leftovers are destroyed, a live one is re-registered
 *   (and thawed, should a crashed snapshot have left it frozen);
 * - a running, paused or stopped record whose sandbox is absent and whose workspace
 *   directory is not on this host (a data dir restored from a backup, which holds no
 *   disks) is not booted on an empty disk: it becomes `failed` with the error code
 *   DISK_MISSING_CODE, its record and metadata kept; a start boots it afresh from its image;
 * - sandboxes on the host that no record owns are removed, and fork seeds no pending
 *   create needs any more are dropped.
 *
 * Periodically (a safety net for missed exit notifications): running workspaces whose
 * sandbox ended meet their restart policy. Each tick checks at most SWEEP_BATCH of them,
 * round robin, so the net's cost per tick does not grow with the number of workspaces
 * (up to SWEEP_BATCH running, every one is checked every tick, as before).
 */
import type { Store, WorkspaceRecord } from '../store/store.js';
import type { WorkspaceBackend } from './backend.js';
import { runPending, type OperationHooks } from './operations.js';
import type { WorkspaceService } from './workspaces.js';
import type { ExitHandler } from './exits.js';
import type { ArchiveFilesPort } from './ports.js';
import { refOf } from './layer-ops.js';
import type { LayerRef } from '../drivers/driver.js';

export interface ReconcileSummary {
  resumed: number;
  repaired: number;
  residue: number;
  layers: number;
  /** Records marked failed because their disk is not on this host. */
  diskMissing: number;
}

/** `error.code` of a workspace whose disk is not on this host (src/contract/errors.ts). */
export const DISK_MISSING_CODE = 'workspace_disk_missing';

/** States whose sandbox has a disk the reconciler would otherwise boot or keep. */
const WITH_DISK: readonly WorkspaceRecord['state'][] = ['running', 'paused', 'stopped'];

/**
 * Running workspaces the periodic sweep checks per tick: a full pass over N takes
 * ⌈N / SWEEP_BATCH⌉ ticks (at 5 s a tick, 1,000 workspaces are each checked every 50 s).
 * The exit watches see an exit at once; the sweep only backs up a missed notification.
 */
export const SWEEP_BATCH = 100;

/** The next `size` of `ids` after `after` in id order, wrapping around (round robin). */
export function sweepBatch(ids: readonly string[], after: string | null, size: number): string[] {
  const sorted = [...ids].sort();
  if (sorted.length <= size) return sorted;
  const next = after === null ? 0 : sorted.findIndex((id) => id > after);
  const from = next < 0 ? 0 : next;
  return [...sorted.slice(from), ...sorted.slice(0, from)].slice(0, size);
}

export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private sweeping = false;
  /** Last workspace the sweep checked (the next tick goes on after it). */
  private sweepCursor: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly orch: WorkspaceBackend,
    private readonly workspaces: WorkspaceService,
    private readonly hooks: OperationHooks,
    private readonly exits: ExitHandler,
    private readonly archives: ArchiveFilesPort,
    /** finishPending false: records with an operation pending are left to whoever started it (a node daemon). */
    private readonly opts: { finishPending?: boolean } = {},
  ) {}

  async reconcileAll(): Promise<ReconcileSummary> {
    const layers = await this.sweepLayers();
    const all = await this.store.allWorkspaces();
    const known = new Set(all.map((r) => r.shortId));
    const records = all.filter((r) => this.orch.owns(r)); // another server's workspaces live on its host
    let residue = 0;
    for (const shortId of await this.orch.residue()) {
      if (known.has(shortId)) continue;
      this.hooks.log('warn', 'removing sandbox residue no record owns', { shortId });
      await this.orch.destroyResidue(shortId);
      residue++;
    }
    let resumed = 0;
    let repaired = 0;
    let diskMissing = 0;
    const onHost = await this.orch.workspacesOnHost();
    for (const rec of records) {
      try {
        if (rec.pending) {
          if (this.opts.finishPending === false) continue;
          resumed++;
          await this.workspaces.withLock(rec.id, () => this.finish(rec.id));
        } else if (!onHost.has(rec.id) && WITH_DISK.includes(rec.state)
          && (await this.workspaces.withLock(rec.id, () => this.markDiskMissing(rec.id)))) {
          diskMissing++;
        } else if (await this.workspaces.withLock(rec.id, () => this.repair(rec.id))) {
          repaired++;
        }
      } catch (err) {
        this.hooks.log('error', 'reconcile failed', { id: rec.id, err: String(err) });
      }
    }
    await this.collectForkSeeds();
    return { resumed, repaired, residue, layers, diskMissing };
  }

  private async finish(id: string): Promise<void> {
    const rec = await this.store.getWorkspace(id);
    if (rec?.pending) await runPending(this.store, this.orch, rec, this.hooks);
  }

  /**
   * A settled workspace with no directory on this host: unless its sandbox is somehow there,
   * it is marked failed (never booted on a fresh empty disk, never dropped). Returns true if marked.
   */
  private async markDiskMissing(id: string): Promise<boolean> {
    const rec = await this.store.getWorkspace(id);
    if (!rec || rec.pending || !WITH_DISK.includes(rec.state)) return false;
    if ((await this.orch.inspect(rec)).state !== 'absent') return false;
    this.hooks.log('warn', 'workspace disk not on this host (restored from a backup?); marking it failed', { id, state: rec.state });
    // startedAt null, as for any workspace that is not running: the view then shows the error
    // (provisioning.error.code), and the SDK's readiness loop stops waiting for it.
    await this.store.updateWorkspace({
      ...rec, state: 'failed', startedAt: null,
      error: { code: DISK_MISSING_CODE, message: 'The workspace disk is not on this host; starting it boots a fresh disk from its image' },
    });
    return true;
  }

  /** Brings one settled workspace's sandbox in line with its state. Returns true if it acted. */
  private async repair(id: string): Promise<boolean> {
    const rec = await this.store.getWorkspace(id);
    if (!rec || rec.pending) return false;
    const actual = await this.orch.inspect(rec);
    if (rec.state === 'running' || rec.state === 'paused') {
      if (actual.state === 'running' || actual.state === 'paused') {
        await this.orch.reattach(rec);
        if (rec.state === 'paused' && actual.state === 'running') await this.orch.pause(rec);
        if (rec.state === 'running' && actual.state === 'paused') await this.orch.resume(rec);
        return rec.state !== actual.state;
      }
      if (rec.state === 'running' && actual.exitCode !== undefined) {
        await this.exits.checkLocked(id); // it ended by itself while we were away
        return true;
      }
      await this.orch.bringUp(rec);
      if (rec.state === 'paused') await this.orch.pause(rec);
      await this.store.updateWorkspace({ ...rec, startedAt: new Date().toISOString() });
      return true;
    }
    if (rec.state === 'stopped' && (actual.state === 'running' || actual.state === 'paused')) {
      await this.orch.bringDown(rec);
      return true;
    }
    if (rec.state === 'archived' && actual.state !== 'absent') {
      await this.orch.destroySandbox(rec);
      return true;
    }
    return false;
  }

  /** Removes what interrupted snapshot and archive operations left; returns how many things went. */
  private async sweepLayers(): Promise<number> {
    let removed = 0;
    const layers = this.orch.layers;
    if (layers) {
      const rows = await this.store.listSnapshots({});
      for (const s of rows) {
        if (s.state === 'pending' || s.purpose === 'archive') {
          await layers.drop(s);
          removed++;
        }
      }
      const keyOf = (r: LayerRef) => `${r.shortId}/${r.snapshotId}`;
      const live = new Set(rows.filter((s) => s.state === 'ready' && s.purpose !== 'archive').map((s) => keyOf(refOf(s))));
      const files = await layers.listFiles();
      for (const f of files) {
        if (live.has(keyOf(f))) continue;
        await layers.dropFile(f);
        removed++;
      }
      const present = new Set(files.map(keyOf));
      for (const s of rows) {
        if (s.state === 'ready' && s.purpose !== 'archive' && !present.has(keyOf(refOf(s)))) {
          this.hooks.log('warn', 'snapshot file missing; forgetting the snapshot', { id: s.id, workspace: s.workspace_id });
          await this.store.deleteSnapshot(s.id);
          removed++;
        }
      }
    }
    for (const a of await this.store.allArchives()) {
      if (a.state !== 'writing') continue;
      await this.archives.remove(a.workspace_id, a.file);
      await this.store.deleteArchive(a.workspace_id, a.version);
      removed++;
    }
    await this.archives.sweep();
    return removed;
  }

  /** A fork's seed goes once no pending create still needs it. */
  private async collectForkSeeds(): Promise<void> {
    const layers = this.orch.layers;
    if (!layers) return;
    const needed = new Set<string>();
    for (const r of await this.store.allWorkspaces()) {
      if (r.pending?.source?.kind === 'snapshot') needed.add(r.pending.source.snapshotId);
    }
    for (const s of await this.store.listSnapshots({ purpose: 'fork' })) {
      if (!needed.has(s.id)) await layers.drop(s);
    }
  }

  startSweeping(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep(), intervalMs);
    this.timer.unref();
  }

  stopSweeping(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass of the periodic checks; never throws. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      // Reservation rows: the listing costs a few columns, not every full record; check()
      // reads the record again and skips one with an operation pending.
      const running = (await this.store.allReservations()).filter((r) => r.state === 'running').map((r) => r.id);
      const batch = sweepBatch(running, this.sweepCursor, SWEEP_BATCH);
      for (const id of batch) await this.exits.check(id);
      this.sweepCursor = batch.at(-1) ?? null;
    } catch (err) {
      this.hooks.log('error', 'sweep failed', { err: String(err) });
    } finally {
      this.sweeping = false;
    }
  }
}
