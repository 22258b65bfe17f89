/**
 * The `namespace_quotas` and `default_quotas` tables of the SQLite store (migration 6).
 * Kept apart from sqlite.ts so each file stays small; SqliteStore delegates here.
 * Quota rows are removed with their namespace (`deleteQuotas`), not by a foreign key:
 * namespaces carry none (see migrations.ts).
 */
import Database from 'better-sqlite3';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './quota-records.js';

export const Q_COLUMNS = `namespace_id, service, quota_limit, quota_used, overdraft, on_overdraft_action, notification_thresholds,
  last_threshold_fired, enabled, usage_since, created_at, updated_at`;
export const D_COLUMNS = 'level, service, quota_limit, overdraft, on_overdraft_action, auto_apply, enabled, created_at, updated_at';

export type QRow = Omit<NamespaceQuotaRecord, 'notification_thresholds' | 'enabled'> & { notification_thresholds: string | null; enabled: number };
export type DRow = Omit<DefaultQuotaRecord, 'auto_apply' | 'enabled'> & { auto_apply: number; enabled: number };

/** Rows → records; shared with postgres-namespaces.ts (same columns). */
export const toQuota = (r: QRow): NamespaceQuotaRecord => ({
  ...r,
  notification_thresholds: r.notification_thresholds === null ? null : JSON.parse(r.notification_thresholds) as number[],
  enabled: r.enabled !== 0,
});
export const toDefault = (r: DRow): DefaultQuotaRecord => ({ ...r, auto_apply: r.auto_apply !== 0, enabled: r.enabled !== 0 });

export class QuotaTables {
  constructor(private readonly db: Database.Database) {}

  /** Inserts or replaces the (namespace_id, service) row. */
  putQuota(q: NamespaceQuotaRecord): void {
    this.db.prepare(`INSERT OR REPLACE INTO namespace_quotas (${Q_COLUMNS}) VALUES (@namespace_id, @service, @quota_limit,
      @quota_used, @overdraft, @on_overdraft_action, @notification_thresholds, @last_threshold_fired, @enabled, @usage_since,
      @created_at, @updated_at)`).run({
      ...q,
      notification_thresholds: q.notification_thresholds === null ? null : JSON.stringify(q.notification_thresholds),
      enabled: q.enabled ? 1 : 0,
    });
  }

  getQuota(namespaceId: string, service: string): NamespaceQuotaRecord | null {
    const row = this.db.prepare(`SELECT ${Q_COLUMNS} FROM namespace_quotas WHERE namespace_id = ? AND service = ?`)
      .get(namespaceId, service) as QRow | undefined;
    return row ? toQuota(row) : null;
  }

  /** Of one namespace, or all when `namespaceId` is undefined; by namespace then service. */
  listQuotas(namespaceId?: string): NamespaceQuotaRecord[] {
    const rows = namespaceId === undefined
      ? this.db.prepare(`SELECT ${Q_COLUMNS} FROM namespace_quotas ORDER BY namespace_id, service`).all()
      : this.db.prepare(`SELECT ${Q_COLUMNS} FROM namespace_quotas WHERE namespace_id = ? ORDER BY service`).all(namespaceId);
    return (rows as QRow[]).map(toQuota);
  }

  /** Every quota of the namespace; returns how many. */
  deleteQuotas(namespaceId: string): number {
    return this.db.prepare('DELETE FROM namespace_quotas WHERE namespace_id = ?').run(namespaceId).changes;
  }

  putDefault(d: DefaultQuotaRecord): void {
    this.db.prepare(`INSERT OR REPLACE INTO default_quotas (${D_COLUMNS}) VALUES (@level, @service, @quota_limit, @overdraft,
      @on_overdraft_action, @auto_apply, @enabled, @created_at, @updated_at)`).run({ ...d, auto_apply: d.auto_apply ? 1 : 0, enabled: d.enabled ? 1 : 0 });
  }

  getDefault(level: string, service: string): DefaultQuotaRecord | null {
    const row = this.db.prepare(`SELECT ${D_COLUMNS} FROM default_quotas WHERE level = ? AND service = ?`).get(level, service) as DRow | undefined;
    return row ? toDefault(row) : null;
  }

  listDefaults(level: string): DefaultQuotaRecord[] {
    return (this.db.prepare(`SELECT ${D_COLUMNS} FROM default_quotas WHERE level = ? ORDER BY service`).all(level) as DRow[]).map(toDefault);
  }

  deleteDefault(level: string, service: string): boolean {
    return this.db.prepare('DELETE FROM default_quotas WHERE level = ? AND service = ?').run(level, service).changes > 0;
  }
}
