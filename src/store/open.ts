/**
 * Picks and opens the Store for this server, then brings its schema up to date.
 *
 * - No database URL: the embedded SQLite store in `<dataDir>/warren.db`.
 * - A postgres:// or postgresql:// URL: reserved for the PostgreSQL store, which a later
 *   issue adds behind the same Store contract (src/store/contract-suite.ts). Until then
 *   it fails loudly with `not_implemented` instead of silently falling back to SQLite,
 *   so an operator never writes to a database they did not ask for.
 */
import { AppError } from '../contract/errors.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** Root of persistent state; the SQLite file lives here. */
  dataDir: string;
  /** External database URL (WARREN_DATABASE_URL); empty or absent means embedded SQLite. */
  databaseUrl?: string;
}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const url = opts.databaseUrl?.trim();
  if (url) {
    if (POSTGRES_URL.test(url)) {
      // TODO(postgres store issue): return a PostgresStore here.
      throw new AppError('not_implemented', 'PostgreSQL store is not available in this build', {
        field: 'database_url',
      });
    }
    throw new AppError('validation_error', 'database_url must be a postgres:// or postgresql:// URL', {
      field: 'database_url',
    });
  }
  const store = new SqliteStore(opts.dataDir);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
