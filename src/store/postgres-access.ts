/**
 * The `api_keys`, `access_tokens`, `settings` and `public_ports` tables of the PostgreSQL
 * store: the same semantics as sqlite-access.ts, the settings of sqlite.ts and
 * sqlite-public-ports.ts. PostgresStore delegates here; errors are translated there.
 */
import type pg from 'pg';
import type { AccessTokenRecord, ApiKeyRecord } from './access-records.js';
import type { PublicPortRecord } from './store.js';
import { keyOf, tokenOf, type ApiKeyRow, type TokenRow } from './sqlite-access.js';

const PORT_COLUMNS = 'workspace_id, port, slug, label, domain, created_at';

export class PgAccessTables {
  constructor(private readonly pool: pg.Pool) {}

  async putKey(key: ApiKeyRecord): Promise<void> {
    await this.pool.query(`INSERT INTO api_keys (client_id, secret_hash, scope, namespace_id, label, created_at)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (client_id) DO UPDATE SET secret_hash = excluded.secret_hash, scope = excluded.scope,
        namespace_id = excluded.namespace_id, label = excluded.label, created_at = excluded.created_at`,
    [key.clientId, key.secretHash, key.scope, key.namespaceId ?? null, key.label ?? null, key.createdAt]);
  }

  async getKey(clientId: string): Promise<ApiKeyRecord | null> {
    const row = (await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE client_id = $1', [clientId])).rows[0];
    return row ? keyOf(row) : null;
  }

  async allKeys(): Promise<ApiKeyRecord[]> {
    return (await this.pool.query<ApiKeyRow>('SELECT * FROM api_keys ORDER BY created_at, client_id')).rows.map(keyOf);
  }

  async deleteKey(clientId: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM api_keys WHERE client_id = $1', [clientId])).rowCount ?? 0) > 0;
  }

  async countKeys(): Promise<number> {
    return (await this.pool.query<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys')).rows[0]!.n;
  }

  async putToken(t: AccessTokenRecord): Promise<void> {
    await this.pool.query(`INSERT INTO access_tokens (id, scope, namespace_id, workspace_id, label, issued_by, created_at,
      expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [t.id, t.scope, t.namespaceId, t.workspaceId, t.label, t.issuedBy, t.createdAt, t.expiresAt, t.revokedAt]);
  }

  /** Tokens not yet expired at `now` (ISO), revoked ones included, oldest first. */
  async liveTokens(now: string): Promise<AccessTokenRecord[]> {
    return (await this.pool.query<TokenRow>('SELECT * FROM access_tokens WHERE expires_at > $1 ORDER BY created_at, id', [now]))
      .rows.map(tokenOf);
  }

  /** Revoking twice keeps the first time. */
  async revokeToken(id: string, at: string): Promise<boolean> {
    const res = await this.pool.query('UPDATE access_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2', [at, id]);
    return (res.rowCount ?? 0) > 0;
  }

  async pruneTokens(before: string): Promise<number> {
    return (await this.pool.query('DELETE FROM access_tokens WHERE expires_at <= $1', [before])).rowCount ?? 0;
  }

  async getSetting(key: string): Promise<string | null> {
    const row = (await this.pool.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key])).rows[0];
    return row ? row.value : null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.pool.query(`INSERT INTO settings (key, value) VALUES ($1, $2)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }
  /** Inserts unless present, then reads back: of concurrent writers the first committed wins. */
  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.pool.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.getSetting(key))!;
  }


  /** Inserts or replaces (workspace_id, port); a slug clash or an unknown workspace fails (translated by the store). */
  async putPort(rec: PublicPortRecord): Promise<void> {
    await this.pool.query(`INSERT INTO public_ports (${PORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (workspace_id, port) DO UPDATE SET slug = excluded.slug, label = excluded.label,
        domain = excluded.domain, created_at = excluded.created_at`,
    [rec.workspace_id, rec.port, rec.slug, rec.label, rec.domain, rec.created_at]);
  }

  async listPorts(workspaceId: string): Promise<PublicPortRecord[]> {
    return (await this.pool.query<PublicPortRecord>(`SELECT ${PORT_COLUMNS} FROM public_ports WHERE workspace_id = $1 ORDER BY port`,
      [workspaceId])).rows;
  }

  async allPorts(): Promise<PublicPortRecord[]> {
    return (await this.pool.query<PublicPortRecord>(`SELECT ${PORT_COLUMNS} FROM public_ports ORDER BY workspace_id, port`)).rows;
  }

  async portBySlug(slug: string): Promise<PublicPortRecord | null> {
    return (await this.pool.query<PublicPortRecord>(`SELECT ${PORT_COLUMNS} FROM public_ports WHERE slug = $1`, [slug])).rows[0] ?? null;
  }

  async deletePort(workspaceId: string, port: number): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM public_ports WHERE workspace_id = $1 AND port = $2', [workspaceId, port]);
    return (res.rowCount ?? 0) > 0;
  }
}
