/**
 * Migration 12 in both stores: `workspaces.token_hash`, the indexed lookup key of a raw
 * runtime token (token-hash.ts), backfilled for the rows already there. From then on the
 * row mapper (sqlite-workspace-rows.ts) derives it on every write, so it cannot go stale.
 *
 * SQLite has no SHA-256 in SQL: the backfill reads each row's `api_access` and writes the
 * hash from JS inside the migration's transaction. PostgreSQL (≥ 11) computes it in SQL
 * with `sha256(bytea)`, the same digest of the same UTF-8 bytes.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { tokenHashOf } from './token-hash.js';

export const TOKEN_HASH_MIGRATION = { version: 12, name: 'runtime token hash column' } as const;

export function sqliteTokenHashUp(db: Database.Database): void {
  db.exec(`ALTER TABLE workspaces ADD COLUMN token_hash TEXT;
    CREATE INDEX workspaces_token_hash ON workspaces (token_hash);`);
  const rows = db.prepare('SELECT id, api_access FROM workspaces').all() as Array<{ id: string; api_access: string }>;
  const write = db.prepare('UPDATE workspaces SET token_hash = ? WHERE id = ?');
  for (const row of rows) {
    const hash = tokenHashOf(JSON.parse(row.api_access) as { enabled: boolean; rawToken: string });
    if (hash) write.run(hash, row.id);
  }
}

export async function pgTokenHashUp(c: pg.ClientBase): Promise<void> {
  await c.query(`ALTER TABLE workspaces ADD COLUMN token_hash TEXT;
    UPDATE workspaces SET token_hash = encode(sha256(convert_to(api_access::jsonb ->> 'rawToken', 'UTF8')), 'hex')
      WHERE (api_access::jsonb ->> 'enabled')::boolean AND coalesce(api_access::jsonb ->> 'rawToken', '') <> '';
    CREATE INDEX workspaces_token_hash ON workspaces (token_hash);`);
}
