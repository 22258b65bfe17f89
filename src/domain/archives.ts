/**
 * Archives (control-plane.md §10): versioned, compressed (zstd or gzip), checksummed
 * copies of a workspace's files in the data dir. The whole writable layer by default
 * (restorable as a layer, deletions included), or `vm_paths` of its filesystem minus
 * `exclude_vm_paths` (restored over the current files). A running workspace keeps
 * running while its archive is written: the archive reads a snapshot taken under the
 * workspace's lock, not the live layer.
 *
 * Deleting an archive forgets it; `delete_file` also removes its file (otherwise the
 * file stays in `<data-dir>/archives/<workspace>/` for the operator). Archives go with
 * their workspace on DELETE /workspace/:id, and stay when only its VM is destroyed.
 */
import { AppError } from '../contract/errors.js';
import { archiveFileName, type ArchiveCreateCommand } from '../contract/layers.js';
import type { ArchiveRecord, Store, WorkspaceRecord } from '../store/store.js';
import { requireLayerState } from './lifecycle.js';
import type { WorkspaceBackend } from './backend.js';
import type { ArchiveFilesPort } from './ports.js';
import type { WorkspaceService } from './workspaces.js';

export interface ArchiveServiceDeps {
  store: Store;
  orchestrator: WorkspaceBackend;
  workspaces: WorkspaceService;
  files: ArchiveFilesPort;
}

/** `v<n+1>` after the highest `v<n>` a workspace has. */
export function nextVersion(existing: readonly ArchiveRecord[]): string {
  const n = existing.map((a) => /^v(\d+)$/.exec(a.version)).reduce((max, m) => Math.max(max, m ? Number(m[1]) : 0), 0);
  return `v${n + 1}`;
}

export class ArchiveService {
  constructor(private readonly d: ArchiveServiceDeps) {}

  async create(idOrSlug: string, cmd: ArchiveCreateCommand): Promise<ArchiveRecord> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    const layers = this.d.orchestrator.requireLayers();
    const job = await this.d.workspaces.withLock(id, async () => {
      const rec = await this.d.workspaces.get(id);
      requireLayerState(rec.state, 'archive');
      const existing = await this.d.store.listArchives(id);
      const version = cmd.version ?? nextVersion(existing);
      if (existing.some((a) => a.version === version)) {
        throw new AppError('conflict', `Archive ${version} already exists`, { field: 'version' });
      }
      const draft = { version, format: cmd.format, vmPaths: cmd.vmPaths, excludeVmPaths: cmd.excludeVmPaths };
      return layers.beginArchive(rec, draft, archiveFileName(version, cmd.format));
    });
    return layers.finishArchive(await this.d.workspaces.get(id), job);
  }

  /**
   * DELETE /workspace/:id/lifecycle: destroys the sandbox and its layer, keeps the record
   * and its archives (`archived`); with `archive` (true: the next `vN`), a final archive
   * of the whole layer is written first.
   */
  async destroyVm(idOrSlug: string, archive: string | true | null): Promise<{ rec: WorkspaceRecord | null; archive: string | null }> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    return this.d.workspaces.withLock(id, async () => {
      if (archive === null) return { rec: await this.d.workspaces.transitionLocked(id, 'destroy'), archive: null };
      this.d.orchestrator.requireLayers();
      const existing = await this.d.store.listArchives(id);
      const version = archive === true ? nextVersion(existing) : archive;
      if (existing.some((a) => a.version === version)) {
        throw new AppError('conflict', `Archive ${version} already exists`, { field: 'archive' });
      }
      const rec = await this.d.workspaces.transitionLocked(id, 'destroy', { archive: { version, format: 'tar.zst' } });
      return { rec, archive: version };
    });
  }

  async list(idOrSlug: string): Promise<ArchiveRecord[]> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    return this.d.store.listArchives(id);
  }

  async get(idOrSlug: string, version: string): Promise<ArchiveRecord> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    const a = await this.d.store.getArchive(id, version);
    if (!a) throw new AppError('not_found', `Archive ${version} not found`, { field: 'version' });
    return a;
  }

  async delete(idOrSlug: string, version: string, deleteFile: boolean): Promise<ArchiveRecord> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    return this.d.workspaces.withLock(id, async () => {
      const a = await this.get(id, version);
      if (a.state !== 'ready') throw new AppError('conflict', `Archive ${version} is still being written`, { field: 'version' });
      await this.d.store.deleteArchive(id, version);
      if (deleteFile) await this.d.files.remove(id, a.file);
      return a;
    });
  }

  async deleteAll(idOrSlug: string, deleteFiles: boolean): Promise<ArchiveRecord[]> {
    const { id } = await this.d.workspaces.get(idOrSlug);
    return this.d.workspaces.withLock(id, async () => {
      const gone = (await this.d.store.listArchives(id)).filter((a) => a.state === 'ready');
      for (const a of gone) {
        await this.d.store.deleteArchive(id, a.version);
        if (deleteFiles) await this.d.files.remove(id, a.file);
      }
      return gone;
    });
  }
}
