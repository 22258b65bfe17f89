/**
 * The `namespaces` and `namespace_activity` tables of the SQLite store (control-plane.md
 * §21). Kept apart from sqlite.ts so each file stays small; SqliteStore delegates here.
 * Activity rows are history: they stay after their namespace is deleted.
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import type { NamespaceActivityRecord, NamespaceRecord } from './namespace-records.js';

export const NAMESPACE_COLUMNS = 'id, slug, name, description, status, type, is_default, metadata, tags, resource_limits, created_at, updated_at, last_active_at';

export type NamespaceRow = Omit<NamespaceRecord, 'is_default' | 'metadata' | 'tags' | 'resource_limits'> & {
  is_default: number; metadata: string; tags: string; resource_limits: string | null;
};

/** Row → record; shared with postgres-namespaces.ts (same columns). */
export const toNamespace = (r: NamespaceRow): NamespaceRecord => ({
  ...r,
  is_default: r.is_default !== 0,
  metadata: JSON.parse(r.metadata) as Record<string, string>,
  tags: JSON.parse(r.tags) as string[],
  resource_limits: r.resource_limits === null ? null : JSON.parse(r.resource_limits) as NamespaceRecord['resource_limits'],
});

export class NamespaceTables {
  /** Prepared once (after the migrations): every scoped request looks its caller's namespace up. */
  private findStmt?: Database.Statement;

  constructor(private readonly db: Database.Database) {}

  /** Inserts or replaces; a slug taken by another namespace is a conflict on `slug`. */
  put(rec: NamespaceRecord): void {
    const taken = this.db.prepare('SELECT id FROM namespaces WHERE slug = ? AND id <> ?').get(rec.slug, rec.id);
    if (taken) throw new AppError('conflict', `Namespace slug ${rec.slug} is taken`, { field: 'slug' });
    const write = this.db.transaction(() => {
      if (rec.is_default) this.db.prepare('UPDATE namespaces SET is_default = 0 WHERE id <> ?').run(rec.id);
      this.db.prepare(`INSERT OR REPLACE INTO namespaces (${NAMESPACE_COLUMNS}) VALUES (@id, @slug, @name, @description, @status, @type,
        @is_default, @metadata, @tags, @resource_limits, @created_at, @updated_at, @last_active_at)`).run({
        ...rec,
        is_default: rec.is_default ? 1 : 0,
        metadata: JSON.stringify(rec.metadata),
        tags: JSON.stringify(rec.tags),
        resource_limits: rec.resource_limits === null ? null : JSON.stringify(rec.resource_limits),
      });
    });
    write();
  }

  find(idOrSlug: string): NamespaceRecord | null {
    // An id wins over a slug; both columns are indexed, so each arm is one lookup.
    this.findStmt ??= this.db.prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE id = ? UNION ALL
      SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE slug = ? AND id <> ? LIMIT 1`);
    const row = this.findStmt.get(idOrSlug, idOrSlug, idOrSlug) as NamespaceRow | undefined;
    return row ? toNamespace(row) : null;
  }

  all(): NamespaceRecord[] {
    return (this.db.prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces ORDER BY created_at, id`).all() as NamespaceRow[]).map(toNamespace);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM namespaces WHERE id = ?').run(id).changes > 0;
  }

  addActivity(e: Omit<NamespaceActivityRecord, 'id'>): NamespaceActivityRecord {
    const info = this.db.prepare(`INSERT INTO namespace_activity (namespace_id, action, description, changes, created_at)
      VALUES (?, ?, ?, ?, ?)`).run(e.namespace_id, e.action, e.description, e.changes === null ? null : JSON.stringify(e.changes), e.created_at);
    return { ...e, id: Number(info.lastInsertRowid) };
  }

  /** Newest first. */
  listActivity(namespaceId: string, limit: number, offset: number): NamespaceActivityRecord[] {
    const rows = this.db.prepare(`SELECT id, namespace_id, action, description, changes, created_at FROM namespace_activity
      WHERE namespace_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`).all(namespaceId, limit, offset) as Array<
      Omit<NamespaceActivityRecord, 'changes'> & { changes: string | null }>;
    return rows.map((r) => ({ ...r, changes: r.changes === null ? null : JSON.parse(r.changes) as Record<string, unknown> }));
  }
}
