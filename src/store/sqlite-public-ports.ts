/**
 * The `public_ports` table of the SQLite store (exposed ports, control-plane.md §8).
 * Kept apart from sqlite.ts so each file stays small; SqliteStore delegates here.
 * Rows are removed with their workspace by the foreign key (ON DELETE CASCADE,
 * `foreign_keys = ON` is set when the database is opened).
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import type { PublicPortRecord } from './store.js';

/** The table's columns are exactly the record's fields, so selected rows are records as they are. */
const COLUMNS = 'workspace_id, port, slug, label, domain, created_at';

/** Constraint failures with an API meaning; anything else is rethrown unchanged. */
function translate(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  if (err.code === 'SQLITE_CONSTRAINT_UNIQUE' && /public_ports\.slug/.test(err.message)) {
    return new AppError('conflict', 'This slug is already used by another exposed port', { field: 'slug' });
  }
  if (err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new AppError('not_found', 'Workspace not found', { field: 'id' });
  }
  return err;
}

export class PublicPortTable {
  constructor(private readonly db: Database.Database) {}

  put(rec: PublicPortRecord): void {
    const sql = `INSERT INTO public_ports (${COLUMNS})
                 VALUES (@workspace_id, @port, @slug, @label, @domain, @created_at)
                 ON CONFLICT (workspace_id, port) DO UPDATE SET slug = excluded.slug,
                   label = excluded.label, domain = excluded.domain, created_at = excluded.created_at`;
    try {
      this.db.prepare(sql).run(rec);
    } catch (err) {
      throw translate(err);
    }
  }

  list(workspaceId: string): PublicPortRecord[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM public_ports WHERE workspace_id = ? ORDER BY port`)
      .all(workspaceId) as PublicPortRecord[];
  }

  all(): PublicPortRecord[] {
    return this.db.prepare(`SELECT ${COLUMNS} FROM public_ports ORDER BY workspace_id, port`).all() as PublicPortRecord[];
  }

  bySlug(slug: string): PublicPortRecord | null {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM public_ports WHERE slug = ?`).get(slug) as PublicPortRecord | undefined;
    return row ?? null;
  }

  delete(workspaceId: string, port: number): boolean {
    return this.db.prepare('DELETE FROM public_ports WHERE workspace_id = ? AND port = ?').run(workspaceId, port).changes > 0;
  }
}
