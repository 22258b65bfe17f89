/**
 * Picks and opens the Store for this server, then brings its schema up to date.
 *
 * - No database URL: the embedded SQLite store in `<dataDir>/warren.db`.
 * - A postgres:// or postgresql:// URL: the PostgreSQL store (postgres.ts). The first
 *   connect is checked here, so a wrong URL, bad credentials, an unknown database or an
 *   unreachable server fails start-up with one line naming host, port and database (never
 *   the password) and what failed, within the connect timeout (postgres-db.ts).
 * - Anything else is refused: an operator never writes to a database they did not ask for.
 *
 * `warren serve` migrates on every start (the single-host default); `warren migrate` is the
 * explicit step for fleets (src/cli/migrate.ts). Both refuse a schema newer than this build.
 */
import { AppError } from '../contract/errors.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Root of persistent state; the SQLite file lives here. */
  dataDir: string;
  /** External database URL (WARREN_DATABASE_URL); empty or absent means embedded SQLite. */
  databaseUrl?: string;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/** A store that can also report and apply its migrations explicitly. */
export type MigratableStore = SqliteStore | PostgresStore;

/** Opens the selected store (connected, for PostgreSQL) without touching its schema. */
export async function openStoreUnmigrated(opts: OpenStoreOptions): Promise<MigratableStore> {
  const url = opts.databaseUrl?.trim();
  if (!url) return new SqliteStore(opts.dataDir);
  if (!POSTGRES_URL.test(url)) {
    throw new AppError('validation_error', 'database_url must be a postgres:// or postgresql:// URL', {
      field: 'database_url',
    });
  }
  const store = new PostgresStore(url);
  return closedOnFailure(store, () => store.open());
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const store = await openStoreUnmigrated(opts);
  return closedOnFailure(store, () => store.migrate());
}

/** `store` after `step` succeeded; closed (and the failure rethrown) when it did not. */
async function closedOnFailure<S extends { close(): Promise<void> }>(store: S, step: () => Promise<void>): Promise<S> {
  try {
    await step();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
