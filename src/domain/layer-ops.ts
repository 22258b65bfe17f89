/**
 * The writable layer as the domain sees it: snapshots (rows in the store, files held by
 * the driver), archives (rows in the store, files through ArchiveFilesPort), and the
 * layer sources a create, start or restore starts from.
 *
 * Intent first: a snapshot row is written `pending` and an archive row `writing` before
 * any file exists; the reconciler removes both kinds after a crash (see
 * Reconciler.sweepLayers), so no file outlives an interrupted operation and no row
 * names a file that was never completed. Callers hold the workspace's lock for
 * everything but the long part of an archive (`finishArchive`), which reads a snapshot
 * taken under the lock.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LayerError, type LayerRef, type SandboxSpec, type SnapshotDriver } from '../drivers/driver.js';
import { AppError } from '../contract/errors.js';
import type { ArchiveFormat } from '../contract/layers.js';
import type { ArchiveRecord, LayerSource, SnapshotRecord, Store, WorkspaceRecord } from '../store/store.js';
import type { ArchiveFilesPort } from './ports.js';
import { faultPoint } from '../util/fault-points.js';

export type ResolvedSource =
  | { kind: 'snapshot'; ref: LayerRef; record: SnapshotRecord }
  | { kind: 'archive'; archive: ArchiveRecord };

export interface LayerOpsDeps {
  store: Store;
  driver: SnapshotDriver;
  archives: ArchiveFilesPort;
  spec(rec: WorkspaceRecord, buildImage: boolean): Promise<SandboxSpec>;
}

export interface ArchiveDraft {
  version: string;
  format: ArchiveFormat;
  vmPaths: string[];
  excludeVmPaths: string[];
}

/** An archive whose row and source snapshot exist; `finishArchive` writes the file. */
export interface ArchiveInProgress {
  row: ArchiveRecord;
  snapshot: SnapshotRecord;
}

export function refOf(s: SnapshotRecord): LayerRef {
  return { shortId: s.short_id, snapshotId: s.id };
}

/** Driver and file failures that are the caller's business, as AppErrors; anything else unchanged. */
export function layerError(err: unknown): unknown {
  if (err instanceof LayerError) {
    if (err.reason === 'path_missing') {
      return new AppError('validation_error', err.message, { field: 'vm_paths', path: err.path });
    }
    if (err.reason === 'no_space') return new AppError('archive_too_large', err.message, { field: 'disk_size_mb' });
    return new AppError('archive_corrupted', 'The archive is damaged and was not restored', { field: 'archive' });
  }
  if (err instanceof Error && err.name === 'ArchiveIntegrityError') {
    return new AppError('archive_corrupted', 'The archive does not match its recorded checksum and was not restored', {
      field: 'archive',
    });
  }
  if (err instanceof Error && /no space left on device/i.test(err.message)) {
    return new AppError('insufficient_storage', 'The host has no room left for this copy of the workspace\'s disk');
  }
  return err;
}

export class LayerOps {
  constructor(private readonly d: LayerOpsDeps) {}

  get capabilities() {
    return this.d.driver.snapshots;
  }

  /** Snapshots `rec`'s layer (row pending → copy → row ready); the file is held under the workspace's shortId. */
  async take(rec: WorkspaceRecord, purpose: SnapshotRecord['purpose'], opts: { keepFrozen?: boolean } = {}): Promise<SnapshotRecord> {
    const row: SnapshotRecord = {
      id: `snap_${randomBytes(6).toString('hex')}`,
      workspace_id: rec.id,
      short_id: rec.shortId,
      purpose,
      state: 'pending',
      bytes: 0,
      copy_on_write: this.capabilities.copyOnWrite,
      frozen_ms: 0,
      created_at: new Date().toISOString(),
    };
    await this.d.store.putSnapshot(row);
    faultPoint('snapshot.row-pending');
    try {
      const r = await this.d.driver.snapshot(await this.d.spec(rec, false), row.id, opts);
      faultPoint('snapshot.copied');
      const ready: SnapshotRecord = { ...row, state: 'ready', bytes: r.bytes, copy_on_write: r.copyOnWrite, frozen_ms: r.frozenMs };
      await this.d.store.putSnapshot(ready);
      faultPoint('snapshot.row-ready');
      return ready;
    } catch (err) {
      await this.drop(row);
      throw layerError(err);
    }
  }

  /** File first, then row: a crash in between leaves a row the reconciler drops. */
  async drop(s: SnapshotRecord): Promise<void> {
    await this.d.driver.deleteSnapshot(refOf(s));
    await this.d.store.deleteSnapshot(s.id);
  }

  /** Every snapshot file the driver holds (reconciliation). */
  listFiles(): Promise<LayerRef[]> {
    return this.d.driver.listSnapshots();
  }

  /** A snapshot file no row names. */
  dropFile(ref: LayerRef): Promise<void> {
    return this.d.driver.deleteSnapshot(ref);
  }

  /** Drops a workspace's snapshots of the given purposes (fork seeds are dropped by their forks). */
  async dropAllOf(workspaceId: string, ...purposes: Array<SnapshotRecord['purpose']>): Promise<void> {
    const wanted = purposes.length ? purposes : ['snapshot', 'archive'];
    for (const s of await this.d.store.listSnapshots({ workspaceId })) {
      if (wanted.includes(s.purpose)) await this.drop(s);
    }
  }

  /** The newest ready user snapshot of a workspace. */
  async latest(workspaceId: string): Promise<SnapshotRecord | null> {
    const all = await this.d.store.listSnapshots({ workspaceId, purpose: 'snapshot', state: 'ready' });
    return all.at(-1) ?? null;
  }

  async resolve(rec: WorkspaceRecord, source: LayerSource): Promise<ResolvedSource> {
    if (source.kind === 'snapshot') {
      const record = await this.d.store.getSnapshot(source.snapshotId);
      if (!record || record.state !== 'ready') {
        throw new AppError('not_found', 'The snapshot this workspace starts from no longer exists', { field: 'snapshot' });
      }
      return { kind: 'snapshot', ref: refOf(record), record };
    }
    const archive = await this.d.store.getArchive(rec.id, source.version);
    if (!archive || archive.state !== 'ready') {
      throw new AppError('not_found', `Archive ${source.version} not found`, { field: 'version' });
    }
    return { kind: 'archive', archive };
  }

  /** Replaces the (stopped) sandbox's layer with the source's. */
  async replace(rec: WorkspaceRecord, source: ResolvedSource): Promise<void> {
    if (source.kind === 'snapshot') {
      await this.d.driver.restore(await this.d.spec(rec, false), source.ref).catch((err) => { throw layerError(err); });
    } else {
      await this.importArchive(await this.d.spec(rec, true), source.archive);
    }
  }

  /** Refuses a file whose checksum is off before anything is touched, then imports it (re-checked as read). */
  async verify(archive: ArchiveRecord): Promise<void> {
    const actual = await this.d.archives.checksum(archive.workspace_id, archive.file);
    if (actual === null) throw new AppError('not_found', `The file of archive ${archive.version} is missing`, { field: 'version' });
    if (actual !== archive.sha256) {
      throw new AppError('archive_corrupted', `Archive ${archive.version} does not match its recorded checksum`, {
        field: 'archive', version: archive.version,
      });
    }
  }

  async importArchive(spec: SandboxSpec, archive: ArchiveRecord): Promise<void> {
    await this.verify(archive);
    faultPoint('import.verified');
    const input: Readable = this.d.archives.read(archive.workspace_id, archive.file, archive.format, archive.sha256!);
    try {
      await this.d.driver.importTar(spec, input, archive.kind);
      faultPoint('import.layer-written');
    } catch (err) {
      input.destroy();
      throw layerError(err);
    }
  }

  /** What the layer holds (changed, added and deleted paths), at most `limit` entries. */
  async listChanges(rec: WorkspaceRecord, limit: number) {
    return this.d.driver.listChanges(await this.d.spec(rec, false), limit);
  }

  async sync(rec: WorkspaceRecord): Promise<void> {
    await this.d.driver.syncLayer(await this.d.spec(rec, false));
  }

  /** A tar of a snapshot's whole writable layer (overlay upper: whiteouts and opaque marks included). */
  async exportSnapshot(rec: WorkspaceRecord, ref: LayerRef) {
    return this.d.driver.exportTar(await this.d.spec(rec, true), ref, {});
  }

  /** Under the caller's lock: the archive's row (`writing`) and a snapshot to read it from. */
  async beginArchive(rec: WorkspaceRecord, draft: ArchiveDraft, file: string): Promise<ArchiveInProgress> {
    const row: ArchiveRecord = {
      workspace_id: rec.id,
      version: draft.version,
      state: 'writing',
      format: draft.format,
      kind: draft.vmPaths.length ? 'files' : 'layer',
      vm_paths: draft.vmPaths,
      exclude_vm_paths: draft.excludeVmPaths,
      size_bytes: 0,
      sha256: null,
      file,
      created_at: new Date().toISOString(),
      completed_at: null,
    };
    await this.d.store.putArchive(row);
    faultPoint('archive.row-writing');
    try {
      return { row, snapshot: await this.take(rec, 'archive') };
    } catch (err) {
      await this.d.store.deleteArchive(rec.id, row.version);
      throw err;
    }
  }

  /** Writes the archive from its snapshot (no lock needed: the snapshot is private to it). */
  async finishArchive(rec: WorkspaceRecord, job: ArchiveInProgress): Promise<ArchiveRecord> {
    const { row } = job;
    try {
      const exp = await this.d.driver.exportTar(await this.d.spec(rec, true), refOf(job.snapshot), {
        paths: row.vm_paths.length ? row.vm_paths : undefined,
        exclude: row.exclude_vm_paths,
      });
      const [stored] = await Promise.all([this.d.archives.write(rec.id, row.file, row.format, exp.stream), exp.done]);
      faultPoint('archive.file-written');
      const ready: ArchiveRecord = {
        ...row, state: 'ready', size_bytes: stored.bytes, sha256: stored.sha256, completed_at: new Date().toISOString(),
      };
      await this.d.store.putArchive(ready);
      faultPoint('archive.row-ready');
      return ready;
    } catch (err) {
      await this.d.archives.remove(rec.id, row.file);
      await this.d.store.deleteArchive(rec.id, row.version);
      throw layerError(err);
    } finally {
      await this.drop(job.snapshot).catch(() => undefined); // the reconciler drops it otherwise
    }
  }
}
