/**
 * The `api_keys` and `access_tokens` tables of the SQLite store. Kept apart from
 * sqlite.ts so each file stays small; SqliteStore delegates here.
 */
import Database from 'better-sqlite3';
import type { AccessTokenRecord, ApiKeyRecord } from './access-records.js';

export interface ApiKeyRow {
  client_id: string;
  secret_hash: string;
  scope: string;
  namespace_id: string | null;
  label: string | null;
  created_at: string;
}

export interface TokenRow {
  id: string;
  scope: string;
  namespace_id: string | null;
  workspace_id: string | null;
  label: string | null;
  issued_by: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** Row → record; shared with postgres-access.ts (same columns). */
export const keyOf = (r: ApiKeyRow): ApiKeyRecord => ({
  clientId: r.client_id, secretHash: r.secret_hash, scope: r.scope as ApiKeyRecord['scope'],
  namespaceId: r.namespace_id, label: r.label, createdAt: r.created_at,
});

export const tokenOf = (r: TokenRow): AccessTokenRecord => ({
  id: r.id, scope: r.scope as AccessTokenRecord['scope'], namespaceId: r.namespace_id, workspaceId: r.workspace_id,
  label: r.label, issuedBy: r.issued_by, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at,
});

export class AccessTables {
  constructor(private readonly db: Database.Database) {}

  /** Inserts or replaces the key with this client id. */
  putKey(key: ApiKeyRecord): void {
    this.db.prepare(`INSERT INTO api_keys (client_id, secret_hash, scope, namespace_id, label, created_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, scope = excluded.scope,
        namespace_id = excluded.namespace_id, label = excluded.label, created_at = excluded.created_at`)
      .run(key.clientId, key.secretHash, key.scope, key.namespaceId ?? null, key.label ?? null, key.createdAt);
  }

  getKey(clientId: string): ApiKeyRecord | null {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE client_id = ?').get(clientId) as ApiKeyRow | undefined;
    return row ? keyOf(row) : null;
  }

  allKeys(): ApiKeyRecord[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, client_id').all() as ApiKeyRow[]).map(keyOf);
  }

  deleteKey(clientId: string): boolean {
    return this.db.prepare('DELETE FROM api_keys WHERE client_id = ?').run(clientId).changes > 0;
  }

  countKeys(): number {
    return this.db.prepare('SELECT COUNT(*) FROM api_keys').pluck().get() as number;
  }

  putToken(t: AccessTokenRecord): void {
    this.db.prepare(`INSERT INTO access_tokens (id, scope, namespace_id, workspace_id, label, issued_by, created_at, expires_at, revoked_at)
      VALUES (@id, @scope, @namespaceId, @workspaceId, @label, @issuedBy, @createdAt, @expiresAt, @revokedAt)`).run(t);
  }

  /** Tokens not yet expired at `now` (ISO), revoked ones included, oldest first. */
  liveTokens(now: string): AccessTokenRecord[] {
    return (this.db.prepare('SELECT * FROM access_tokens WHERE expires_at > ? ORDER BY created_at, id').all(now) as TokenRow[]).map(tokenOf);
  }

  /** Marks the token revoked; false when there is no such token. Revoking twice keeps the first time. */
  revokeToken(id: string, at: string): boolean {
    return this.db.prepare('UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id).changes > 0;
  }

  /** Drops rows of tokens expired before `before` (ISO); they can no longer be used anyway. */
  pruneTokens(before: string): number {
    return this.db.prepare('DELETE FROM access_tokens WHERE expires_at <= ?').run(before).changes;
  }
}
