/**
 * The `public_ports` table of the SQLite store (exposed ports, control-plane.md §8).
 * Kept apart from sqlite.ts so each file stays small; SqliteStore delegates here.
 * Rows are removed with their workspace by the foreign key (ON DELETE CASCADE,
 * `foreign_keys = ON` is set when the database is opened).
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import type { PublicPortRecord } from './store.js';

interface PublicPortRow {
  workspace_id: string;
  port: number;
  slug: string;
  label: string;
  domain: string | null;
  created_at: string;
}

function toRecord(row: PublicPortRow): PublicPortRecord {
  return {
    workspace_id: row.workspace_id,
    port: row.port,
    slug: row.slug,
    label: row.label,
    domain: row.domain,
    created_at: row.created_at,
  } satisfies PublicPortRecord;
}

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
    const sql = `INSERT INTO public_ports (workspace_id, port, slug, label, domain, created_at)
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
    const rows = this.db.prepare('SELECT * FROM public_ports WHERE workspace_id = ? ORDER BY port').all(workspaceId);
    return (rows as PublicPortRow[]).map(toRecord);
  }

  all(): PublicPortRecord[] {
    const rows = this.db.prepare('SELECT * FROM public_ports ORDER BY workspace_id, port').all();
    return (rows as PublicPortRow[]).map(toRecord);
  }

  bySlug(slug: string): PublicPortRecord | null {
    const row = this.db.prepare('SELECT * FROM public_ports WHERE slug = ?').get(slug) as PublicPortRow | undefined;
    return row === undefined ? null : toRecord(row);
  }

  delete(workspaceId: string, port: number): boolean {
    return this.db.prepare('DELETE FROM public_ports WHERE workspace_id = ? AND port = ?').run(workspaceId, port).changes > 0;
  }
}
