/**
 * The `usage_samples`, `usage_tracking` and `activity` tables of the PostgreSQL store
 * (control-plane.md §13), with the semantics of sqlite-usage.ts (whose bucket SQL and row
 * mappers it shares). Buckets are ISO-8601 minute strings in byte-order text, so grouping
 * by hour or day is a prefix and ranges are string comparisons, as in SQLite.
 */
import type pg from 'pg';
import { inTransaction } from './postgres-db.js';
import { BUCKET_SQL, SUMS, toActivity, toTracking, type ActivityRow, type TrackingRow } from './sqlite-usage.js';
import type {
  ActivityFilter, ActivityRecord, UsageCursor, UsageRange, UsageRow, UsageTier, UsageTotalsRow, UsageTrackingRecord,
} from './usage-records.js';

/** WHERE clause (with $n placeholders) and parameters of a usage range. */
function rangeWhere(range: UsageRange): { where: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  const add = (sql: string, value: string) => { params.push(value); parts.push(sql.replace('?', `$${params.length}`)); };
  if (range.workspaceId !== undefined) add('workspace_id = ?', range.workspaceId);
  if (range.from) add('bucket_start >= ?', range.from);
  if (range.to) add('bucket_start < ?', range.to);
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

const ADD_SAMPLE = `INSERT INTO usage_samples AS s
    (workspace_id, bucket_start, cpu_seconds, memory_mb_seconds, disk_mb_hours, rx_bytes, tx_bytes)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (workspace_id, bucket_start) DO UPDATE SET
    cpu_seconds = s.cpu_seconds + excluded.cpu_seconds,
    memory_mb_seconds = s.memory_mb_seconds + excluded.memory_mb_seconds,
    disk_mb_hours = s.disk_mb_hours + excluded.disk_mb_hours,
    rx_bytes = s.rx_bytes + excluded.rx_bytes,
    tx_bytes = s.tx_bytes + excluded.tx_bytes`;

const SAVE_CURSOR = `INSERT INTO usage_tracking (workspace_id, enabled, changed_at, cursor) VALUES ($1, 1, NULL, $2)
  ON CONFLICT (workspace_id) DO UPDATE SET cursor = excluded.cursor`;

export class PgUsageTables {
  constructor(private readonly pool: pg.Pool) {}

  /** Samples and cursors in one transaction: all or none. */
  async record(rows: UsageRow[], cursors: Array<{ workspace_id: string; cursor: UsageCursor }>): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      for (const r of rows) {
        await c.query(ADD_SAMPLE, [r.workspace_id, r.bucket_start, r.cpu_seconds, r.memory_mb_seconds, r.disk_mb_hours,
          Math.round(r.rx_bytes), Math.round(r.tx_bytes)]);
      }
      for (const cur of cursors) await c.query(SAVE_CURSOR, [cur.workspace_id, JSON.stringify(cur.cursor)]);
    });
  }

  async list(range: UsageRange, tier: UsageTier): Promise<UsageRow[]> {
    const { where, params } = rangeWhere(range);
    const bucket = BUCKET_SQL[tier];
    return (await this.pool.query<UsageRow>(`SELECT workspace_id, ${bucket} AS bucket_start, ${SUMS} FROM usage_samples ${where}
      GROUP BY workspace_id, ${bucket} ORDER BY 2, 1`, params)).rows;
  }

  async totals(range: UsageRange): Promise<UsageTotalsRow[]> {
    const { where, params } = rangeWhere(range);
    return (await this.pool.query<UsageTotalsRow>(`SELECT workspace_id, ${SUMS}, MIN(bucket_start) AS first_bucket,
      MAX(bucket_start) AS last_bucket FROM usage_samples ${where} GROUP BY workspace_id ORDER BY workspace_id`, params)).rows;
  }

  async delete(workspaceId: string): Promise<number> {
    return (await this.pool.query('DELETE FROM usage_samples WHERE workspace_id = $1', [workspaceId])).rowCount ?? 0;
  }

  async trackingAll(): Promise<UsageTrackingRecord[]> {
    return (await this.pool.query<TrackingRow>('SELECT * FROM usage_tracking ORDER BY workspace_id')).rows.map(toTracking);
  }

  async tracking(workspaceId: string): Promise<UsageTrackingRecord | null> {
    const row = (await this.pool.query<TrackingRow>('SELECT * FROM usage_tracking WHERE workspace_id = $1', [workspaceId])).rows[0];
    return row ? toTracking(row) : null;
  }

  /** Switches tracking; keeps the cursor. */
  async setTracking(workspaceId: string, enabled: boolean, at: string): Promise<UsageTrackingRecord> {
    const res = await this.pool.query<TrackingRow>(`INSERT INTO usage_tracking (workspace_id, enabled, changed_at, cursor)
      VALUES ($1, $2, $3, NULL)
      ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at
      RETURNING *`, [workspaceId, enabled ? 1 : 0, at]);
    return toTracking(res.rows[0]!);
  }

  /** Buckets past retention, and switches/cursors of workspaces that are gone. */
  async prune(olderThan: string): Promise<number> {
    return inTransaction(this.pool, async (c) => {
      const n = (await c.query('DELETE FROM usage_samples WHERE bucket_start < $1', [olderThan])).rowCount ?? 0;
      await c.query('DELETE FROM usage_tracking t WHERE NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.id = t.workspace_id)');
      return n;
    });
  }

  async addActivity(e: Omit<ActivityRecord, 'id'>): Promise<ActivityRecord> {
    const res = await this.pool.query<{ id: number }>(`INSERT INTO activity (workspace_id, type, from_state, to_state, origin,
      reason, at, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [e.workspace_id, e.type, e.from_state, e.to_state, e.origin, e.reason, e.at, JSON.stringify(e.details)]);
    return { id: res.rows[0]!.id, ...e, details: JSON.parse(JSON.stringify(e.details)) as Record<string, unknown> };
  }

  async listActivity(f: ActivityFilter): Promise<ActivityRecord[]> {
    const parts: string[] = [];
    const params: Array<string | number | string[]> = [];
    const add = (sql: string, value: string | number | string[]) => { params.push(value); parts.push(sql.replace('?', `$${params.length}`)); };
    if (f.workspaceId !== undefined) add('workspace_id = ?', f.workspaceId);
    if (f.workspaceIds !== undefined) {
      if (f.workspaceIds.length === 0) return [];
      add('workspace_id = ANY(?::text[])', f.workspaceIds);
    }
    if (f.type !== undefined) add('type = ?', f.type);
    if (f.before !== undefined) add('id < ?', f.before);
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    params.push(f.limit);
    return (await this.pool.query<ActivityRow>(`SELECT * FROM activity ${where} ORDER BY id DESC LIMIT $${params.length}`, params))
      .rows.map(toActivity);
  }

  async pruneActivity(olderThan: string, maxPerWorkspace: number): Promise<number> {
    return inTransaction(this.pool, async (c) => {
      const old = (await c.query('DELETE FROM activity WHERE at < $1', [olderThan])).rowCount ?? 0;
      const over = (await c.query(`DELETE FROM activity WHERE id IN (
        SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY id DESC) AS n FROM activity) ranked
        WHERE n > $1)`, [maxPerWorkspace])).rowCount ?? 0;
      return old + over;
    });
  }
}
