/**
 * Versioned schema migrations for the PostgreSQL store, with the contract of the SQLite
 * list (src/store/migrations.ts):
 *
 * - Applied versions are recorded in `schema_migrations`; running the list again is a no-op.
 * - Each migration runs in its own transaction together with its bookkeeping row, so a
 *   failing one leaves no trace.
 * - Every transaction first takes a transaction-level advisory lock (MIGRATION_LOCK), so
 *   replicas starting at once queue on it and each migration is applied once: the second
 *   finds it recorded and skips it.
 * - A database carrying a version this build does not know is refused (the same
 *   AppError('server_error', …, { field: 'schema_version' }) as SQLite's refusal).
 *
 * Version numbers are aligned with SQLite's: the list starts with one baseline at SQLite's
 * version 9 that creates the whole schema of that version (postgres-schema.ts). A later
 * change is a new version in BOTH lists, with the same number. Append only.
 */
import type pg from 'pg';
import { checkOrdered, refuseUnknownVersions } from './migrations.js';
import { inTransaction } from './postgres-db.js';
import { BASELINE_SCHEMA, NODES_SCHEMA } from './postgres-schema.js';
import { COORDINATION_SCHEMA_SQL } from '../coordination/postgres-schema.js';
import { pgTokenHashUp, TOKEN_HASH_MIGRATION } from './migration-token-hash.js';
import { NODE_SUBNET_MIGRATION, NODE_SUBNET_SQL } from './migration-node-subnet.js';

export interface PgMigration {
  version: number;
  name: string;
  up(client: pg.ClientBase): Promise<void>;
}

/** The advisory lock key (text, hashed by the server) every migration transaction takes. */
export const MIGRATION_LOCK = 'warren:schema-migrations';

/** The migrations of this build, in order. Append only; numbers as in MIGRATIONS (SQLite). */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 9,
    name: 'baseline: the schema of SQLite migrations 1-9',
    up: async (c) => { await c.query(BASELINE_SCHEMA); },
  },
  {
    version: 10,
    name: 'coordination: workspace operation leases and the leader epoch (src/coordination/postgres-schema.ts)',
    up: async (c) => { await c.query(COORDINATION_SCHEMA_SQL); },
  },
  { version: 11, name: 'node registry', up: async (c) => { await c.query(NODES_SCHEMA); } },
  { ...TOKEN_HASH_MIGRATION, up: pgTokenHashUp },
  { ...NODE_SUBNET_MIGRATION, up: async (c) => { await c.query(NODE_SUBNET_SQL); } },
];

async function lockAndPrepare(c: pg.ClientBase): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [MIGRATION_LOCK]);
  await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
}

async function appliedIn(c: pg.ClientBase): Promise<number[]> {
  const res = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return res.rows.map((r) => r.version);
}

/** Versions already applied, ascending; [] for an empty database. Reads only. */
export async function pgAppliedVersions(pool: pg.Pool): Promise<number[]> {
  const exists = await pool.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return [];
  const res = await pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return res.rows.map((r) => r.version);
}

/**
 * Brings the database up to the newest migration. Returns the versions applied by this
 * call (empty when the schema was already current).
 */
export async function runPgMigrations(pool: pg.Pool, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number[]> {
  checkOrdered(migrations);
  const applied: number[] = [];
  for (const m of migrations) {
    await inTransaction(pool, async (c) => {
      await lockAndPrepare(c);
      // Checked under the lock: another replica may have applied it (or a newer build run) meanwhile.
      const done = await appliedIn(c);
      refuseUnknownVersions(done, migrations);
      if (done.includes(m.version)) return;
      await m.up(c);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
        [m.version, m.name, new Date().toISOString()]);
      applied.push(m.version);
    });
  }
  return applied;
}
