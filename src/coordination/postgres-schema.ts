/**
 * The coordination tables in PostgreSQL (issue 16). COORDINATION_SCHEMA_SQL is one
 * idempotent script, to be folded into the store's PostgreSQL migrations; until then
 * `ensureSchema` applies it under an advisory lock, so replicas starting together do not race.
 *
 * - warren_coord_leases: the operation lease of a workspace. `token` is the holder's own
 *   random value (renew and release match it, so a lease taken over after expiry is never
 *   renewed or deleted by its former holder); `expires_at` is set by the database's clock.
 * - warren_coord_leader: one row; `epoch` grows by one at each new leader's term (fencing).
 */
import type pg from 'pg';
import { inTransaction } from './pg-tx.js';

/** Advisory lock keys (two-int form): class 'Wc' (0x5763), one object each. */
export const ADVISORY_CLASS = 0x5763;
export const ADVISORY = { schema: 1, reserve: 2, leader: 3 } as const;

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

/** Applies COORDINATION_SCHEMA_SQL once, in one transaction, under the schema advisory lock. */
export async function ensureSchema(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_CLASS, ADVISORY.schema]);
    await c.query(COORDINATION_SCHEMA_SQL);
  });
}
