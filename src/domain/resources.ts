/**
 * Resources of a workspace (control-plane.md §9) and the MCP's overlay routes (§5).
 *
 * A change is checked against the operator's limits (403 RESOURCE_NOT_ALLOWED), a
 * smaller disk is refused (409 disk_shrink_not_supported: files are never thrown
 * away), and the owned and running pools are re-reserved with the new demand. A live
 * workspace gets the change at once — CPU quota and memory limit in its cgroups (its
 * processes can read them at /sys/fs/cgroup), disk quota online — unless `apply: false`,
 * which stores it for the next start. A memory limit below what the workspace uses now is refused
 * (409 memory_in_use) and nothing is stored.
 */
import type { NamespaceGate } from './namespaces.js';
import { AppError } from '../contract/errors.js';
import type { ResourcesCommand } from '../contract/resources.js';
import { parseConfig } from '../contract/workspace.js';
import type { Store, WorkspaceRecord } from '../store/store.js';
import { isLive, isTransitional } from './lifecycle.js';
import type { WorkspaceBackend } from './backend.js';
import { checkResizeFits, type QuotaPolicy } from './quota.js';
import { faultPoint } from '../util/fault-points.js';

export interface ResourcesView {
  cpus: number;
  memory_mb: number;
  disk_size_mb: number;
}

export function resourcesOf(rec: WorkspaceRecord): ResourcesView {
  return { cpus: rec.config.cpus, memory_mb: rec.config.memory_mb, disk_size_mb: rec.config.disk_size_mb };
}

/** Validates `next` against `rec` and the pools; throws the documented codes. */
export async function checkResourceChange(
  store: Store, policy: QuotaPolicy, rec: WorkspaceRecord, next: WorkspaceRecord, gate?: NamespaceGate,
): Promise<void> {
  if (next.config.disk_size_mb < rec.config.disk_size_mb) {
    throw new AppError('disk_shrink_not_supported',
      `The disk can grow but not shrink (now ${rec.config.disk_size_mb} MB)`, { field: 'disk_size_mb', current: rec.config.disk_size_mb });
  }
  const all = await store.allReservations();
  await gate?.checkResize(next, all);
  checkResizeFits(policy, all, next);
}

/** Applies the stored limits to a live sandbox; a memory limit below current use becomes 409 memory_in_use. */
export async function applyLive(orch: WorkspaceBackend, rec: WorkspaceRecord): Promise<void> {
  try {
    await orch.updateResources(rec);
  } catch (err) {
    if (err instanceof Error && /below current usage/.test(err.message)) {
      throw new AppError('memory_in_use', 'The workspace uses more memory than the new limit; free some first', {
        field: 'memory_mb',
      });
    }
    throw err;
  }
}

export interface ResourceDeps {
  store: Store;
  policy: QuotaPolicy;
  orchestrator: WorkspaceBackend;
  workspaces: {
    get(idOrSlug: string): Promise<WorkspaceRecord>;
    withLock<T>(id: string, fn: () => Promise<T>): Promise<T>;
  };
  /** Namespace limits on a resize. */
  namespaces?: NamespaceGate;
}

export class ResourceService {
  constructor(private readonly d: ResourceDeps) {}

  async update(idOrSlug: string, cmd: ResourcesCommand): Promise<{ rec: WorkspaceRecord; applied: boolean }> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    return this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      if (isTransitional(rec.state)) {
        throw new AppError('invalid_state', `Resources cannot change while the workspace is ${rec.state}`, {
          field: 'status', current_state: rec.state,
        });
      }
      const raw: Record<string, unknown> = {};
      if (cmd.cpus !== undefined) raw.cpus = cmd.cpus;
      if (cmd.memory_mb !== undefined) raw.memory_mb = cmd.memory_mb;
      if (cmd.disk_size_mb !== undefined) raw.disk_size_mb = cmd.disk_size_mb;
      let config;
      try {
        config = parseConfig(raw, rec.config, this.d.policy.limits, rec.mode);
      } catch (err) {
        // The config parser names fields `config.x`; this body has them at the top level.
        if (err instanceof AppError && typeof err.details?.field === 'string') {
          throw new AppError(err.code, err.message.replace(/config\./g, ''), { ...err.details, field: err.details.field.replace(/^config\./, '') });
        }
        throw err;
      }
      const next: WorkspaceRecord = { ...rec, config };
      await checkResourceChange(this.d.store, this.d.policy, rec, next, this.d.namespaces);
      const live = isLive(rec.state) && cmd.apply;
      if (live) await applyLive(this.d.orchestrator, next);
      faultPoint('resources.applied-live');
      const saved = await this.d.store.updateWorkspace(next, rec.version);
      faultPoint('resources.stored');
      return { rec: saved, applied: live };
    });
  }

  /** The writable layer's changed files (MCP workspace_disk_list). */
  async listLayer(idOrSlug: string, limit: number) {
    const rec = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.orchestrator.requireLayers();
    if (rec.state === 'archived' || rec.state === 'creating') return { entries: [], truncated: false };
    return this.d.workspaces.withLock(rec.id, async () => layers.listChanges(await this.d.workspaces.get(rec.id), limit));
  }

  /** Used and quota of the writable layer (MCP workspace_disk_usage). */
  async layerUsage(idOrSlug: string) {
    const rec = await this.d.workspaces.get(idOrSlug);
    const MiB = 1024 * 1024;
    const s = rec.state === 'archived' ? null : await this.d.orchestrator.stats(rec).catch(() => null);
    const used = s ? s.diskUsedBytes / MiB : 0;
    const size = rec.config.disk_size_mb;
    return {
      used_mb: Math.round(used * 10) / 10,
      size_mb: size,
      free_mb: Math.max(0, Math.round((size - used) * 10) / 10),
      percent: size > 0 ? Math.round((used / size) * 1000) / 10 : 0,
    };
  }

  /** Flushes a live layer to its image (MCP workspace_disk_sync). */
  async syncLayer(idOrSlug: string): Promise<boolean> {
    const rec = await this.d.workspaces.get(idOrSlug);
    if (!isLive(rec.state)) return false;
    await this.d.orchestrator.requireLayers().sync(rec);
    return true;
  }
}
