/**
 * `warren migrate [--database-url URL | --data-dir D] [--check]`: the explicit schema step.
 *
 * Applies the pending migrations of the selected store (PostgreSQL with --database-url or
 * WARREN_DATABASE_URL, else the SQLite file of the data dir) and prints the schema version
 * before and after. `--check` changes nothing: it prints the versions and exits 1 when a
 * migration is pending (or the database is newer than this build), 0 when up to date.
 *
 * `warren serve` still migrates on start (the single-host default); a fleet runs this once
 * per release before starting its replicas. Both refuse a schema newer than this build
 * (the same error as serve's, from refuseUnknownVersions in src/store/migrations.ts).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULTS, type Flags } from '../config/load.js';
import { openStoreUnmigrated, type MigratableStore } from '../store/open.js';
import { PostgresStore } from '../store/postgres.js';
import { targetText } from '../store/postgres-db.js';
import { DB_FILE_NAME } from '../store/sqlite.js';

export const MIGRATE_USAGE = `  warren migrate [--database-url URL | --data-dir D] [--check]
                                                 (applies schema migrations; --check: exit 1 if any is pending)`;

/** A string flag, else the environment variable (empty counts as unset); shared with nodes.ts. */
export function flagOrEnv(flags: Flags, flag: string, env: string): string | undefined {
  const f = flags[flag];
  return typeof f === 'string' ? f : process.env[env] || undefined;
}

const versionText = (applied: number[]) => (applied.length ? String(Math.max(...applied)) : '0 (empty)');

function describe(store: MigratableStore): string {
  return store instanceof PostgresStore ? targetText(store.target) : `SQLite ${store.path}`;
}

/** Runs the command; resolves with the process exit code. */
export async function migrateCommand(flags: Flags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const databaseUrl = flagOrEnv(flags, 'database-url', 'WARREN_DATABASE_URL');
  const dataDir = resolve(flagOrEnv(flags, 'data-dir', 'WARREN_DATA_DIR') ?? DEFAULTS.dataDir);
  const check = flags.check === true;
  // --check never creates a SQLite file that is not there: no file is an empty schema.
  if (check && !databaseUrl?.trim() && !existsSync(join(dataDir, DB_FILE_NAME))) {
    out.write(`SQLite ${join(dataDir, DB_FILE_NAME)}: no database yet; schema version 0 (empty); pending: all\n`);
    return 1;
  }
  const store = await openStoreUnmigrated({ dataDir, databaseUrl });
  try {
    const { applied, known } = await store.schemaVersions();
    const latest = Math.max(...known);
    const unknown = applied.filter((v) => !known.includes(v));
    const pending = known.filter((v) => !applied.includes(v));
    const where = describe(store);
    if (check) {
      const state = unknown.length ? `newer than this build (knows up to ${latest}): refused`
        : pending.length ? `pending: ${pending.join(', ')}` : 'up to date';
      out.write(`${where}: schema version ${versionText(applied)}; this build: ${latest}; ${state}\n`);
      return unknown.length || pending.length ? 1 : 0;
    }
    const done = await store.applyMigrations(); // refuses a newer schema (throws)
    const after = (await store.schemaVersions()).applied;
    const what = done.length ? `applied ${done.join(', ')}` : 'already up to date';
    out.write(`${where}: schema version ${versionText(applied)} -> ${versionText(after)} (${what})\n`);
    return 0;
  } finally {
    await store.close();
  }
}
