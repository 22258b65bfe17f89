/**
 * The `workspace_ssh` table of the SQLite store (records in ssh-records.ts). Kept apart
 * from sqlite.ts so each file stays small; SqliteStore delegates here. Rows go with their
 * workspace (ON DELETE CASCADE; `foreign_keys = ON` is set when the database is opened).
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import type { SshRecord } from './ssh-records.js';

export interface SshRow {
  workspace_id: string;
  ssh_id: string;
  password_hash: string | null;
  password_changed: number;
  key_only: number;
  authorized_keys: string;
  host_key: string;
  host_key_public: string;
  created_at: string;
  updated_at: string;
}

/** Row → record; shared with postgres-namespaces.ts (same columns). */
export const sshRecordOf = (r: SshRow): SshRecord => ({
  workspace_id: r.workspace_id,
  ssh_id: r.ssh_id,
  password_hash: r.password_hash,
  password_changed: r.password_changed === 1,
  key_only: r.key_only === 1,
  authorized_keys: JSON.parse(r.authorized_keys) as string[],
  host_key: r.host_key,
  host_key_public: r.host_key_public,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

/** Constraint failures with a meaning for callers; anything else is rethrown unchanged. */
function translate(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  if (err.code === 'SQLITE_CONSTRAINT_UNIQUE' && /ssh_id/.test(err.message)) {
    return new AppError('conflict', 'This ssh_id is taken', { field: 'ssh_id' });
  }
  if (err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new AppError('not_found', 'Workspace not found', { field: 'id' });
  return err;
}

export class SshTable {
  constructor(private readonly db: Database.Database) {}

  /** Inserts or replaces the workspace's row. A taken ssh_id → AppError('conflict', …, { field: 'ssh_id' }). */
  put(rec: SshRecord): void {
    try {
      this.db.prepare(`INSERT INTO workspace_ssh (workspace_id, ssh_id, password_hash, password_changed, key_only,
          authorized_keys, host_key, host_key_public, created_at, updated_at)
        VALUES (@workspace_id, @ssh_id, @password_hash, @password_changed, @key_only, @authorized_keys, @host_key,
          @host_key_public, @created_at, @updated_at)
        ON CONFLICT (workspace_id) DO UPDATE SET ssh_id = excluded.ssh_id, password_hash = excluded.password_hash,
          password_changed = excluded.password_changed, key_only = excluded.key_only,
          authorized_keys = excluded.authorized_keys, host_key = excluded.host_key,
          host_key_public = excluded.host_key_public, updated_at = excluded.updated_at`).run({
        ...rec,
        password_changed: rec.password_changed ? 1 : 0,
        key_only: rec.key_only ? 1 : 0,
        authorized_keys: JSON.stringify(rec.authorized_keys),
      });
    } catch (err) {
      throw translate(err);
    }
  }

  get(workspaceId: string): SshRecord | null {
    const row = this.db.prepare('SELECT * FROM workspace_ssh WHERE workspace_id = ?').get(workspaceId) as SshRow | undefined;
    return row ? sshRecordOf(row) : null;
  }

  bySshId(sshId: string): SshRecord | null {
    const row = this.db.prepare('SELECT * FROM workspace_ssh WHERE ssh_id = ?').get(sshId) as SshRow | undefined;
    return row ? sshRecordOf(row) : null;
  }
}
