/**
 * The `namespaces`, `namespace_activity`, `namespace_quotas`, `default_quotas` and
 * `workspace_ssh` tables of the PostgreSQL store, with the semantics of sqlite-namespaces.ts,
 * sqlite-quotas.ts and sqlite-ssh.ts (whose row mappers it shares: same columns).
 */
import type pg from 'pg';
import { AppError } from '../contract/errors.js';
import { inTransaction } from './postgres-db.js';
import { placeholders, replaceAll } from './postgres-layers.js';
import { NAMESPACE_COLUMNS, toNamespace, type NamespaceRow } from './sqlite-namespaces.js';
import { D_COLUMNS, Q_COLUMNS, toDefault, toQuota, type DRow, type QRow } from './sqlite-quotas.js';
import { sshRecordOf, type SshRow } from './sqlite-ssh.js';
import type { NamespaceActivityRecord, NamespaceRecord } from './namespace-records.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './quota-records.js';
import type { SshRecord } from './ssh-records.js';

const SSH_COLUMNS = 'workspace_id, ssh_id, password_hash, password_changed, key_only, authorized_keys, host_key, '
  + 'host_key_public, created_at, updated_at';

const json = (v: unknown) => (v === null ? null : JSON.stringify(v));

export class PgNamespaceTables {
  constructor(private readonly pool: pg.Pool) {}

  /** Inserts or replaces; a slug taken by another namespace is a conflict on `slug`; one default at most. */
  async put(rec: NamespaceRecord): Promise<void> {
    const taken = await this.pool.query('SELECT id FROM namespaces WHERE slug = $1 AND id <> $2', [rec.slug, rec.id]);
    if (taken.rowCount) throw new AppError('conflict', `Namespace slug ${rec.slug} is taken`, { field: 'slug' });
    await inTransaction(this.pool, async (c) => {
      if (rec.is_default) await c.query('UPDATE namespaces SET is_default = 0 WHERE id <> $1', [rec.id]);
      await c.query(`INSERT INTO namespaces (${NAMESPACE_COLUMNS}) VALUES (${placeholders(13)})
        ON CONFLICT (id) DO UPDATE SET ${replaceAll(NAMESPACE_COLUMNS, ['id'])}`,
      [rec.id, rec.slug, rec.name, rec.description, rec.status, rec.type, rec.is_default ? 1 : 0, JSON.stringify(rec.metadata),
        JSON.stringify(rec.tags), json(rec.resource_limits), rec.created_at, rec.updated_at, rec.last_active_at]);
    });
  }

  /** An id wins over a slug. */
  async find(idOrSlug: string): Promise<NamespaceRecord | null> {
    const row = (await this.pool.query<NamespaceRow>(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE id = $1 OR slug = $1
      ORDER BY (id = $1) DESC LIMIT 1`, [idOrSlug])).rows[0];
    return row ? toNamespace(row) : null;
  }

  async all(): Promise<NamespaceRecord[]> {
    return (await this.pool.query<NamespaceRow>(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces ORDER BY created_at, id`)).rows.map(toNamespace);
  }

  async delete(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM namespaces WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async addActivity(e: Omit<NamespaceActivityRecord, 'id'>): Promise<NamespaceActivityRecord> {
    const res = await this.pool.query<{ id: number }>(`INSERT INTO namespace_activity (namespace_id, action, description, changes,
      created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [e.namespace_id, e.action, e.description, json(e.changes), e.created_at]);
    return { ...e, id: res.rows[0]!.id };
  }

  /** Newest first. */
  async listActivity(namespaceId: string, limit: number, offset: number): Promise<NamespaceActivityRecord[]> {
    const res = await this.pool.query<Omit<NamespaceActivityRecord, 'changes'> & { changes: string | null }>(`SELECT id,
      namespace_id, action, description, changes, created_at FROM namespace_activity WHERE namespace_id = $1
      ORDER BY id DESC LIMIT $2 OFFSET $3`, [namespaceId, limit, offset]);
    return res.rows.map((r) => ({ ...r, changes: r.changes === null ? null : JSON.parse(r.changes) as Record<string, unknown> }));
  }

  // Quotas (sqlite-quotas.ts).
  async putQuota(q: NamespaceQuotaRecord): Promise<void> {
    await this.pool.query(`INSERT INTO namespace_quotas (${Q_COLUMNS}) VALUES (${placeholders(12)})
      ON CONFLICT (namespace_id, service) DO UPDATE SET ${replaceAll(Q_COLUMNS, ['namespace_id', 'service'])}`,
    [q.namespace_id, q.service, q.quota_limit, q.quota_used, q.overdraft, q.on_overdraft_action, json(q.notification_thresholds),
      q.last_threshold_fired, q.enabled ? 1 : 0, q.usage_since, q.created_at, q.updated_at]);
  }

  async getQuota(namespaceId: string, service: string): Promise<NamespaceQuotaRecord | null> {
    const row = (await this.pool.query<QRow>(`SELECT ${Q_COLUMNS} FROM namespace_quotas WHERE namespace_id = $1 AND service = $2`,
      [namespaceId, service])).rows[0];
    return row ? toQuota(row) : null;
  }

  /** Of one namespace, or all when `namespaceId` is undefined; by namespace then service. */
  async listQuotas(namespaceId?: string): Promise<NamespaceQuotaRecord[]> {
    const res = namespaceId === undefined
      ? await this.pool.query<QRow>(`SELECT ${Q_COLUMNS} FROM namespace_quotas ORDER BY namespace_id, service`)
      : await this.pool.query<QRow>(`SELECT ${Q_COLUMNS} FROM namespace_quotas WHERE namespace_id = $1 ORDER BY service`, [namespaceId]);
    return res.rows.map(toQuota);
  }

  async deleteQuotas(namespaceId: string): Promise<number> {
    return (await this.pool.query('DELETE FROM namespace_quotas WHERE namespace_id = $1', [namespaceId])).rowCount ?? 0;
  }

  async putDefault(d: DefaultQuotaRecord): Promise<void> {
    await this.pool.query(`INSERT INTO default_quotas (${D_COLUMNS}) VALUES (${placeholders(9)})
      ON CONFLICT (level, service) DO UPDATE SET ${replaceAll(D_COLUMNS, ['level', 'service'])}`,
    [d.level, d.service, d.quota_limit, d.overdraft, d.on_overdraft_action, d.auto_apply ? 1 : 0, d.enabled ? 1 : 0, d.created_at, d.updated_at]);
  }

  async getDefault(level: string, service: string): Promise<DefaultQuotaRecord | null> {
    const row = (await this.pool.query<DRow>(`SELECT ${D_COLUMNS} FROM default_quotas WHERE level = $1 AND service = $2`,
      [level, service])).rows[0];
    return row ? toDefault(row) : null;
  }

  async listDefaults(level: string): Promise<DefaultQuotaRecord[]> {
    return (await this.pool.query<DRow>(`SELECT ${D_COLUMNS} FROM default_quotas WHERE level = $1 ORDER BY service`, [level]))
      .rows.map(toDefault);
  }

  async deleteDefault(level: string, service: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM default_quotas WHERE level = $1 AND service = $2', [level, service])).rowCount ?? 0) > 0;
  }

  // SSH access (sqlite-ssh.ts): a taken ssh_id and an unknown workspace are translated by the store.
  async putSsh(rec: SshRecord): Promise<void> {
    await this.pool.query(`INSERT INTO workspace_ssh (${SSH_COLUMNS}) VALUES (${placeholders(10)})
      ON CONFLICT (workspace_id) DO UPDATE SET ${replaceAll(SSH_COLUMNS, ['workspace_id', 'created_at'])}`,
    [rec.workspace_id, rec.ssh_id, rec.password_hash, rec.password_changed ? 1 : 0, rec.key_only ? 1 : 0,
      JSON.stringify(rec.authorized_keys), rec.host_key, rec.host_key_public, rec.created_at, rec.updated_at]);
  }

  async getSsh(workspaceId: string): Promise<SshRecord | null> {
    const row = (await this.pool.query<SshRow>(`SELECT ${SSH_COLUMNS} FROM workspace_ssh WHERE workspace_id = $1`, [workspaceId])).rows[0];
    return row ? sshRecordOf(row) : null;
  }

  async sshById(sshId: string): Promise<SshRecord | null> {
    const row = (await this.pool.query<SshRow>(`SELECT ${SSH_COLUMNS} FROM workspace_ssh WHERE ssh_id = $1`, [sshId])).rows[0];
    return row ? sshRecordOf(row) : null;
  }
}
