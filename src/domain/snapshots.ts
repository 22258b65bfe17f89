/**
 * Snapshots, restore and fork (control-plane.md §10; fork is Warren's extension).
 *
 * - A snapshot is the workspace's whole writable filesystem at one instant (the
 *   driver freezes a live workspace for the copy). Warren keeps the newest one per
 *   workspace: `POST /restore` brings it back. Process memory is not captured by the
 *   namespace driver; the response says so.
 * - Restore returns the workspace to the state it was in (running → running with the
 *   restored files, paused → paused, stopped → stopped). From an archive (`{archive}`)
 *   the file's checksum is verified before anything is touched.
 * - Fork: N new workspaces, each starting from a copy-on-write clone of one snapshot
 *   of the source taken at the call, with their own address, tokens and a default
 *   network policy. The seed snapshot goes once every fork has its own layer.
 */
import { AppError } from '../contract/errors.js';
import type { ForkCommand, SnapshotAfter } from '../contract/layers.js';
import type { SnapshotRecord, Store, WorkspaceRecord } from '../store/store.js';
import { requireLayerState } from './lifecycle.js';
import type { WorkspaceBackend } from './backend.js';
import type { ResolvedSource } from './layer-ops.js';
import type { WorkspaceService } from './workspaces.js';
import type { NoteLifecycle } from './activity-log.js';
import { faultPoint } from '../util/fault-points.js';

export interface SnapshotServiceDeps {
  store: Store;
  orchestrator: WorkspaceBackend;
  workspaces: WorkspaceService;
  /** How long a fork request waits for its workspaces before answering with them `creating`. */
  forkWaitMs: number;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** The activity history hears snapshots and forks. */
  note?: NoteLifecycle;
}

export class SnapshotService {
  constructor(private readonly d: SnapshotServiceDeps) {}

  async create(idOrSlug: string, after: SnapshotAfter): Promise<{ snapshot: SnapshotRecord; workspace: WorkspaceRecord | null }> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.orchestrator.requireLayers();
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      requireLayerState(rec.state, 'snapshot');
      const keepFrozen = after === 'paused' && rec.state === 'running';
      const snapshot = await layers.take(rec, 'snapshot', { keepFrozen });
      this.d.note?.({
        workspaceId: id, type: 'snapshot', from: rec.state, to: rec.state, origin: 'user', reason: null,
        details: { snapshot_id: snapshot.id, bytes: snapshot.bytes, frozen_ms: snapshot.frozen_ms, then: after },
      });
      for (const old of await this.d.store.listSnapshots({ workspaceId: id, purpose: 'snapshot' })) {
        if (old.id !== snapshot.id) await layers.drop(old);
        faultPoint('snapshot.old-dropped');
      }
      let workspace: WorkspaceRecord | null = rec;
      if (keepFrozen) workspace = await this.d.workspaces.transitionLocked(id, 'pause');
      if (after === 'stop') workspace = await this.d.workspaces.transitionLocked(id, 'stop');
      return { snapshot, workspace };
    });
  }

  /** The latest snapshot, or the archive `archive`; returns the workspace afterwards. */
  async restore(idOrSlug: string, archive: string | null): Promise<{ source: ResolvedSource; workspace: WorkspaceRecord | null }> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.orchestrator.requireLayers();
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      let source: ResolvedSource;
      if (archive !== null) {
        const resolved = await layers.resolve(rec, { kind: 'archive', version: archive });
        if (resolved.kind === 'archive') await layers.verify(resolved.archive);
        source = resolved;
      } else {
        const latest = await layers.latest(id);
        if (!latest) throw new AppError('not_found', 'This workspace has no snapshot to restore; create one first', { field: 'snapshot' });
        source = await layers.resolve(rec, { kind: 'snapshot', snapshotId: latest.id });
      }
      const from = source.kind === 'archive'
        ? { kind: 'archive' as const, version: source.archive.version }
        : { kind: 'snapshot' as const, snapshotId: source.record.id };
      if (rec.state === 'archived') {
        if (source.kind !== 'archive') throw new AppError('invalid_state', 'An archived workspace comes back from an archive', { field: 'archive' });
        return { source, workspace: await this.d.workspaces.transitionLocked(id, 'start', { source: from }) };
      }
      const then = rec.state === 'paused' ? 'paused' : rec.state === 'running' ? 'running' : 'stopped';
      return { source, workspace: await this.d.workspaces.transitionLocked(id, 'restore', { source: from, then }) };
    });
  }

  async fork(idOrSlug: string, cmd: ForkCommand): Promise<WorkspaceRecord[]> {
    const source = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.orchestrator.requireLayers();
    const seed = await this.d.workspaces.withLock(source.id, async () => {
      const rec = await this.d.workspaces.get(source.id);
      requireLayerState(rec.state, 'fork');
      return layers.take(rec, 'fork');
    });
    faultPoint('fork.seed-taken');
    let forks: WorkspaceRecord[];
    try {
      forks = await this.d.workspaces.reserve(() => Array.from({ length: cmd.count }, (_, i) => ({
        image: source.image,
        name: cmd.count === 1 && cmd.name ? cmd.name : `${cmd.name ?? source.name}-fork-${i + 1}`,
        slug: null,
        namespace: source.namespace,
        mode: source.mode,
        config: { ...source.config, extra: { ...source.config.extra, forked_from: source.id } },
        idempotencyKey: null,
        metadata: { ...source.metadata },
        source: { kind: 'snapshot' as const, snapshotId: seed.id },
      })));
    } catch (err) {
      await layers.drop(seed);
      throw err;
    }
    faultPoint('fork.reserved');
    this.d.note?.({
      workspaceId: source.id, type: 'forked', from: null, to: null, origin: 'user', reason: null,
      details: { forks: forks.map((f) => f.id) },
    });
    const all = Promise.all(forks.map((f) => this.d.workspaces.background(f.id)));
    void all.then(() => this.dropSeedWhenUnused(seed));
    await Promise.race([all, new Promise((r) => setTimeout(r, this.d.forkWaitMs).unref())]);
    return Promise.all(forks.map((f) => this.d.store.getWorkspace(f.id).then((r) => r ?? f)));
  }

  private async dropSeedWhenUnused(seed: SnapshotRecord): Promise<void> {
    const users = (await this.d.store.allWorkspaces())
      .filter((r) => r.pending?.source?.kind === 'snapshot' && r.pending.source.snapshotId === seed.id);
    if (users.length) return; // a crash-interrupted create still needs it; the reconciler drops it later
    await this.d.orchestrator.requireLayers().drop(seed)
      .catch((err) => this.d.log('warn', 'dropping a fork seed failed', { id: seed.id, err: String(err) }));
  }
}
