/**
 * better-sqlite3 failures → what callers may see (the SQLite twin of postgres-errors.ts): a
 * unique violation becomes AppError('conflict', …, { field }) with the column's API name, a
 * lock held past busy_timeout AppError('service_unavailable'); anything else is rethrown as is.
 */
import Database from 'better-sqlite3';
import { AppError } from '../contract/errors.js';
import { UNIQUE_FIELDS } from './sqlite-workspace-rows.js';

/** Translates driver errors that have an API meaning; anything else is rethrown as is. */
function translateError(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  if (err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const column = /UNIQUE constraint failed: \w+\.(\w+)/.exec(err.message)?.[1];
    if (column !== undefined && column in UNIQUE_FIELDS) {
      return new AppError('conflict', UNIQUE_FIELDS[column]!, { field: column });
    }
  }
  if (err.code === 'SQLITE_BUSY' || err.code === 'SQLITE_LOCKED') {
    return new AppError('service_unavailable', 'The database is busy; retry the request');
  }
  return err;
}

/** Runs `fn`, rethrowing a driver error as translateError does. */
export function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateError(err);
  }
}
