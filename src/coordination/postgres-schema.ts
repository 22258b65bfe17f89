/**
 * The coordination tables in PostgreSQL (issue 16). COORDINATION_SCHEMA_SQL is applied by
 * the store's PostgreSQL migration 10 (src/store/postgres-migrations.ts: under the migration
 * lock, once); coordination only checks that it is there (`requireSchema`).
 *
 * - warren_coord_leases: the operation lease of a workspace. `token` is the holder's own
 *   random value (renew and release match it, so a lease taken over after expiry is never
 *   renewed or deleted by its former holder); `expires_at` is set by the database's clock.
 * - warren_coord_leader: one row; `epoch` grows by one at each new leader's term (fencing).
 */
import type pg from 'pg';

/** Advisory lock keys (two-int form): class 'Wc' (0x5763), one object each. */
export const ADVISORY_CLASS = 0x5763;
export const ADVISORY = { reserve: 2, leader: 3 } as const;

export const COORDINATION_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS warren_coord_leases (
  workspace_id TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  token        TEXT NOT NULL,
  expires_at   TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS warren_coord_leader (
  id     SMALLINT PRIMARY KEY CHECK (id = 1),
  epoch  BIGINT NOT NULL,
  holder TEXT,
  since  TIMESTAMPTZ
);
INSERT INTO warren_coord_leader (id, epoch) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

/** Refuses a database whose migrations have not made the coordination tables (run `warren migrate`). */
export async function requireSchema(pool: pg.Pool): Promise<void> {
  const res = await pool.query<{ t: string | null }>("SELECT to_regclass('warren_coord_leader')::text AS t");
  if (res.rows[0]?.t == null) {
    throw new Error('The database has no coordination tables: run `warren migrate --database-url …` (or start the store first)');
  }
}
