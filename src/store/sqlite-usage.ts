/**
 * The `usage_samples`, `usage_tracking` and `activity` tables of the SQLite store
 * (control-plane.md §13). Kept apart from sqlite.ts so each file stays small;
 * SqliteStore delegates here. No row goes with its workspace: history outlives it.
 *
 * Buckets are ISO-8601 minute strings; an hour or a day is the same string's prefix,
 * so grouping is a `substr` and range checks are string comparisons.
 */
import type Database from 'better-sqlite3';
import type {
  ActivityFilter, ActivityRecord, UsageCursor, UsageRange, UsageRow, UsageTier, UsageTotalsRow, UsageTrackingRecord,
} from './usage-records.js';

/** Tier → the SQL expression of a row's bucket start (the only SQL spliced in, never input). */
export const BUCKET_SQL: Record<UsageTier, string> = {
  minute: 'bucket_start',
  hour: "substr(bucket_start, 1, 13) || ':00:00.000Z'",
  day: "substr(bucket_start, 1, 10) || 'T00:00:00.000Z'",
};

export const SUMS = `SUM(cpu_seconds) AS cpu_seconds, SUM(memory_mb_seconds) AS memory_mb_seconds,
  SUM(disk_mb_hours) AS disk_mb_hours, SUM(rx_bytes) AS rx_bytes, SUM(tx_bytes) AS tx_bytes`;

export interface TrackingRow {
  workspace_id: string;
  enabled: number;
  changed_at: string | null;
  cursor: string | null;
}

export interface ActivityRow extends Omit<ActivityRecord, 'details'> {
  details: string;
}

/** Rows → records; shared with postgres-usage.ts (same columns). */
export const toTracking = (r: TrackingRow): UsageTrackingRecord => ({
  workspace_id: r.workspace_id,
  enabled: r.enabled !== 0,
  changed_at: r.changed_at,
  cursor: r.cursor === null ? null : (JSON.parse(r.cursor) as UsageCursor),
});

export const toActivity = (r: ActivityRow): ActivityRecord => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> });

/** WHERE clause and parameters of a usage range. */
function rangeWhere(range: UsageRange): { where: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (range.workspaceId !== undefined) {
    parts.push('workspace_id = ?');
    params.push(range.workspaceId);
  }
  if (range.from) {
    parts.push('bucket_start >= ?');
    params.push(range.from);
  }
  if (range.to) {
    parts.push('bucket_start < ?');
    params.push(range.to);
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export class UsageTables {
  constructor(private readonly db: Database.Database) {}

  record(rows: UsageRow[], cursors: Array<{ workspace_id: string; cursor: UsageCursor }>): void {
    const add = this.db.prepare(`INSERT INTO usage_samples
        (workspace_id, bucket_start, cpu_seconds, memory_mb_seconds, disk_mb_hours, rx_bytes, tx_bytes)
      VALUES (@workspace_id, @bucket_start, @cpu_seconds, @memory_mb_seconds, @disk_mb_hours, @rx_bytes, @tx_bytes)
      ON CONFLICT (workspace_id, bucket_start) DO UPDATE SET
        cpu_seconds = cpu_seconds + excluded.cpu_seconds,
        memory_mb_seconds = memory_mb_seconds + excluded.memory_mb_seconds,
        disk_mb_hours = disk_mb_hours + excluded.disk_mb_hours,
        rx_bytes = rx_bytes + excluded.rx_bytes,
        tx_bytes = tx_bytes + excluded.tx_bytes`);
    const save = this.db.prepare(`INSERT INTO usage_tracking (workspace_id, enabled, changed_at, cursor) VALUES (?, 1, NULL, ?)
      ON CONFLICT (workspace_id) DO UPDATE SET cursor = excluded.cursor`);
    this.db.transaction(() => {
      for (const r of rows) add.run({ ...r, rx_bytes: Math.round(r.rx_bytes), tx_bytes: Math.round(r.tx_bytes) });
      for (const c of cursors) save.run(c.workspace_id, JSON.stringify(c.cursor));
    }).immediate();
  }

  list(range: UsageRange, tier: UsageTier): UsageRow[] {
    const { where, params } = rangeWhere(range);
    const bucket = BUCKET_SQL[tier];
    return this.db.prepare(`SELECT workspace_id, ${bucket} AS bucket_start, ${SUMS} FROM usage_samples ${where}
      GROUP BY workspace_id, ${bucket} ORDER BY 2, 1`).all(...params) as UsageRow[];
  }

  totals(range: UsageRange): UsageTotalsRow[] {
    const { where, params } = rangeWhere(range);
    return this.db.prepare(`SELECT workspace_id, ${SUMS}, MIN(bucket_start) AS first_bucket, MAX(bucket_start) AS last_bucket
      FROM usage_samples ${where} GROUP BY workspace_id ORDER BY workspace_id`).all(...params) as UsageTotalsRow[];
  }

  delete(workspaceId: string): number {
    return this.db.prepare('DELETE FROM usage_samples WHERE workspace_id = ?').run(workspaceId).changes;
  }

  trackingAll(): UsageTrackingRecord[] {
    return (this.db.prepare('SELECT * FROM usage_tracking ORDER BY workspace_id').all() as TrackingRow[]).map(toTracking);
  }

  tracking(workspaceId: string): UsageTrackingRecord | null {
    const row = this.db.prepare('SELECT * FROM usage_tracking WHERE workspace_id = ?').get(workspaceId) as TrackingRow | undefined;
    return row ? toTracking(row) : null;
  }

  setTracking(workspaceId: string, enabled: boolean, at: string): UsageTrackingRecord {
    this.db.prepare(`INSERT INTO usage_tracking (workspace_id, enabled, changed_at, cursor) VALUES (?, ?, ?, NULL)
      ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at`)
      .run(workspaceId, enabled ? 1 : 0, at);
    return this.tracking(workspaceId)!;
  }

  /** Buckets past retention, and switches/cursors of workspaces that are gone. */
  prune(olderThan: string): number {
    return this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM usage_samples WHERE bucket_start < ?').run(olderThan).changes;
      this.db.prepare('DELETE FROM usage_tracking WHERE workspace_id NOT IN (SELECT id FROM workspaces)').run();
      return n;
    }).immediate();
  }
}

export class ActivityTable {
  constructor(private readonly db: Database.Database) {}

  add(e: Omit<ActivityRecord, 'id'>): ActivityRecord {
    const id = this.db.prepare(`INSERT INTO activity (workspace_id, type, from_state, to_state, origin, reason, at, details)
      VALUES (@workspace_id, @type, @from_state, @to_state, @origin, @reason, @at, @details)`)
      .run({ ...e, details: JSON.stringify(e.details) }).lastInsertRowid;
    return { id: Number(id), ...e, details: JSON.parse(JSON.stringify(e.details)) as Record<string, unknown> };
  }

  list(f: ActivityFilter): ActivityRecord[] {
    const parts: string[] = [];
    const params: Array<string | number> = [];
    if (f.workspaceId !== undefined) {
      parts.push('workspace_id = ?');
      params.push(f.workspaceId);
    }
    if (f.workspaceIds !== undefined) {
      if (f.workspaceIds.length === 0) return [];
      parts.push(`workspace_id IN (${f.workspaceIds.map(() => '?').join(', ')})`);
      params.push(...f.workspaceIds);
    }
    if (f.type !== undefined) {
      parts.push('type = ?');
      params.push(f.type);
    }
    if (f.before !== undefined) {
      parts.push('id < ?');
      params.push(f.before);
    }
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    return (this.db.prepare(`SELECT * FROM activity ${where} ORDER BY id DESC LIMIT ?`).all(...params, f.limit) as ActivityRow[])
      .map(toActivity);
  }

  prune(olderThan: string, maxPerWorkspace: number): number {
    return this.db.transaction(() => {
      const old = this.db.prepare('DELETE FROM activity WHERE at < ?').run(olderThan).changes;
      const over = this.db.prepare(`DELETE FROM activity WHERE id IN (
        SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY id DESC) AS n FROM activity)
        WHERE n > ?)`).run(maxPerWorkspace).changes;
      return old + over;
    }).immediate();
  }
}
