/**
 * The `snapshots` and `archives` tables of the PostgreSQL store (control-plane.md §10), with
 * the semantics of sqlite-layers.ts (whose row mappers it shares: same columns). Archive rows
 * go with their workspace (ON DELETE CASCADE); snapshot rows do not.
 */
import type pg from 'pg';
import type { ArchiveRecord, SnapshotFilter, SnapshotRecord } from './store.js';
import {
  ARCHIVE_COLUMNS, SNAPSHOT_COLUMNS, SNAPSHOT_FILTERS, toArchive, toSnapshot, type ArchiveRow, type SnapshotRow,
} from './sqlite-layers.js';

/** `$1, $2, … $n`. */
export function placeholders(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
}

/** `col = excluded.col` for every column not in the conflict key: an upsert that replaces the row. */
export function replaceAll(columns: string, key: readonly string[]): string {
  return columns.split(',').map((c) => c.trim()).filter((c) => !key.includes(c)).map((c) => `${c} = excluded.${c}`).join(', ');
}

export class PgLayerTables {
  constructor(private readonly pool: pg.Pool) {}

  async putSnapshot(rec: SnapshotRecord): Promise<void> {
    await this.pool.query(`INSERT INTO snapshots (${SNAPSHOT_COLUMNS}) VALUES (${placeholders(9)})
      ON CONFLICT (id) DO UPDATE SET ${replaceAll(SNAPSHOT_COLUMNS, ['id'])}`,
    [rec.id, rec.workspace_id, rec.short_id, rec.purpose, rec.state, rec.bytes, rec.copy_on_write ? 1 : 0, rec.frozen_ms, rec.created_at]);
  }

  async getSnapshot(id: string): Promise<SnapshotRecord | null> {
    const row = (await this.pool.query<SnapshotRow>(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE id = $1`, [id])).rows[0];
    return row ? toSnapshot(row) : null;
  }

  async listSnapshots(filter: SnapshotFilter): Promise<SnapshotRecord[]> {
    const keys = (Object.keys(SNAPSHOT_FILTERS) as Array<keyof SnapshotFilter>).filter((k) => filter[k] !== undefined);
    const where = keys.length ? `WHERE ${keys.map((k, i) => `${SNAPSHOT_FILTERS[k]} = $${i + 1}`).join(' AND ')}` : '';
    const res = await this.pool.query<SnapshotRow>(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots ${where} ORDER BY created_at, id`,
      keys.map((k) => filter[k]));
    return res.rows.map(toSnapshot);
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.pool.query('DELETE FROM snapshots WHERE id = $1', [id]);
  }

  /** An unknown workspace is a foreign-key violation: not_found once translated by the store. */
  async putArchive(rec: ArchiveRecord): Promise<void> {
    await this.pool.query(`INSERT INTO archives (${ARCHIVE_COLUMNS}) VALUES (${placeholders(12)})
      ON CONFLICT (workspace_id, version) DO UPDATE SET ${replaceAll(ARCHIVE_COLUMNS, ['workspace_id', 'version'])}`,
    [rec.workspace_id, rec.version, rec.state, rec.format, rec.kind, JSON.stringify(rec.vm_paths),
      JSON.stringify(rec.exclude_vm_paths), rec.size_bytes, rec.sha256, rec.file, rec.created_at, rec.completed_at]);
  }

  async getArchive(workspaceId: string, version: string): Promise<ArchiveRecord | null> {
    const row = (await this.pool.query<ArchiveRow>(`SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE workspace_id = $1 AND version = $2`,
      [workspaceId, version])).rows[0];
    return row ? toArchive(row) : null;
  }

  async listArchives(workspaceId: string): Promise<ArchiveRecord[]> {
    return (await this.pool.query<ArchiveRow>(`SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE workspace_id = $1
      ORDER BY created_at, version`, [workspaceId])).rows.map(toArchive);
  }

  async allArchives(): Promise<ArchiveRecord[]> {
    return (await this.pool.query<ArchiveRow>(`SELECT ${ARCHIVE_COLUMNS} FROM archives ORDER BY workspace_id, created_at`))
      .rows.map(toArchive);
  }

  async deleteArchive(workspaceId: string, version: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM archives WHERE workspace_id = $1 AND version = $2', [workspaceId, version]);
    return (res.rowCount ?? 0) > 0;
  }
}
