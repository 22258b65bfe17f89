/**
 * The `snapshots` and `archives` tables of the SQLite store (control-plane.md §10).
 * Kept apart from sqlite.ts so each file stays small; SqliteStore delegates here.
 * Archive rows go with their workspace (ON DELETE CASCADE); snapshot rows do not —
 * a fork's seed outlives the workspace it was taken of until its forks exist.
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import type { ArchiveRecord, SnapshotFilter, SnapshotRecord } from './store.js';

export const SNAPSHOT_COLUMNS = 'id, workspace_id, short_id, purpose, state, bytes, copy_on_write, frozen_ms, created_at';
export const ARCHIVE_COLUMNS = 'workspace_id, version, state, format, kind, vm_paths, exclude_vm_paths, size_bytes, sha256, '
  + 'file, created_at, completed_at';

export type SnapshotRow = Omit<SnapshotRecord, 'copy_on_write'> & { copy_on_write: number };
export type ArchiveRow = Omit<ArchiveRecord, 'vm_paths' | 'exclude_vm_paths'> & { vm_paths: string; exclude_vm_paths: string };

/** Row → record; shared with postgres-layers.ts (same columns). */
export const toSnapshot = (r: SnapshotRow): SnapshotRecord => ({ ...r, copy_on_write: r.copy_on_write !== 0 });
export const toArchive = (r: ArchiveRow): ArchiveRecord => ({
  ...r, vm_paths: JSON.parse(r.vm_paths) as string[], exclude_vm_paths: JSON.parse(r.exclude_vm_paths) as string[],
});

/** Filter keys → column names: the only identifiers spliced into SQL. */
export const SNAPSHOT_FILTERS = { workspaceId: 'workspace_id', purpose: 'purpose', state: 'state' } as const;

export class SnapshotTable {
  constructor(private readonly db: Database.Database) {}

  put(rec: SnapshotRecord): void {
    this.db.prepare(`INSERT OR REPLACE INTO snapshots (${SNAPSHOT_COLUMNS})
      VALUES (@id, @workspace_id, @short_id, @purpose, @state, @bytes, @copy_on_write, @frozen_ms, @created_at)`)
      .run({ ...rec, copy_on_write: rec.copy_on_write ? 1 : 0 });
  }

  get(id: string): SnapshotRecord | null {
    const row = this.db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?`).get(id) as SnapshotRow | undefined;
    return row ? toSnapshot(row) : null;
  }

  list(filter: SnapshotFilter): SnapshotRecord[] {
    const keys = (Object.keys(SNAPSHOT_FILTERS) as Array<keyof SnapshotFilter>).filter((k) => filter[k] !== undefined);
    const where = keys.length ? `WHERE ${keys.map((k) => `${SNAPSHOT_FILTERS[k]} = ?`).join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ${where} ORDER BY created_at, id`)
      .all(...keys.map((k) => filter[k])) as SnapshotRow[];
    return rows.map(toSnapshot);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  }
}

export class ArchiveTable {
  constructor(private readonly db: Database.Database) {}

  put(rec: ArchiveRecord): void {
    try {
      this.db.prepare(`INSERT OR REPLACE INTO archives (${ARCHIVE_COLUMNS})
        VALUES (@workspace_id, @version, @state, @format, @kind, @vm_paths, @exclude_vm_paths, @size_bytes, @sha256,
                @file, @created_at, @completed_at)`)
        .run({ ...rec, vm_paths: JSON.stringify(rec.vm_paths), exclude_vm_paths: JSON.stringify(rec.exclude_vm_paths) });
    } catch (err) {
      if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new AppError('not_found', 'Workspace not found', { field: 'id' });
      }
      throw err;
    }
  }

  get(workspaceId: string, version: string): ArchiveRecord | null {
    const row = this.db.prepare(`SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE workspace_id = ? AND version = ?`)
      .get(workspaceId, version) as ArchiveRow | undefined;
    return row ? toArchive(row) : null;
  }

  list(workspaceId: string): ArchiveRecord[] {
    return (this.db.prepare(`SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE workspace_id = ? ORDER BY created_at, version`)
      .all(workspaceId) as ArchiveRow[]).map(toArchive);
  }

  all(): ArchiveRecord[] {
    return (this.db.prepare(`SELECT ${ARCHIVE_COLUMNS} FROM archives ORDER BY workspace_id, created_at`)
      .all() as ArchiveRow[]).map(toArchive);
  }

  delete(workspaceId: string, version: string): boolean {
    return this.db.prepare('DELETE FROM archives WHERE workspace_id = ? AND version = ?').run(workspaceId, version).changes > 0;
  }
}
