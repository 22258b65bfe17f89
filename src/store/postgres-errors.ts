/**
 * node-postgres failures → what callers may see. Nothing here lets a PostgreSQL message,
 * a constraint text or SQL reach a client: a unique violation becomes
 * AppError('conflict', …, { field }) with the column's API name (recovered from the
 * constraint's name, see postgres-schema.ts), a foreign-key violation not_found on `id`,
 * a lost/refused connection or a serialization failure service_unavailable, and anything
 * else a generic server_error whose message names only the SQLSTATE class.
 */
import { AppError } from '../contract/errors.js';
import { UNIQUE_FIELDS } from './sqlite-workspace-rows.js';

/** Constraint name → the API field it protects and the message shown on a clash. */
const UNIQUE_CONSTRAINTS: Record<string, { field: string; message: string }> = {
  ...Object.fromEntries(Object.entries(UNIQUE_FIELDS).map(([column, message]) => [`workspaces_${column}_key`, { field: column, message }])),
  public_ports_slug_key: { field: 'slug', message: 'This slug is already used by another exposed port' },
  workspace_ssh_ssh_id_key: { field: 'ssh_id', message: 'This ssh_id is taken' },
  namespaces_slug_key: { field: 'slug', message: 'Namespace slug is taken' },
};

/** Socket-level failures (node errors) that mean "the database is not reachable right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Messages node-postgres itself (not the server) gives a dead or timed-out connection. */
const CLIENT_CONNECTION_TEXT = new RegExp('^(' + [
  'Connection terminated', // also "… unexpectedly" and "… due to connection timeout"
  'timeout expired', // the connect timeout
  'timeout exceeded when trying to connect', // every pooled connection busy past the connect timeout
  'Query read timeout',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end',
].join('|') + ')');

interface PgErrorLike {
  code?: string;
  constraint?: string;
  message?: string;
}

/** SQLSTATE classes of a lost connection or a server that will not take work now. */
function isUnavailableState(code: string): boolean {
  return code.startsWith('08') // connection exception
    || code === '40001' || code === '40P01' // serialization failure, deadlock: retry
    || code === '57P01' || code === '57P02' || code === '57P03' // shutdown, crash, starting up
    || code === '53300' || code === '55P03' || code === '57014'; // too many connections, lock/statement timeout
}

/** Whether `err` says the database is unreachable (as opposed to a bad statement). */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as PgErrorLike | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || isUnavailableState(e.code))) return true;
  return typeof e.message === 'string' && CLIENT_CONNECTION_TEXT.test(e.message);
}

/** The AppError a failed query stands for; AppErrors pass through unchanged. */
export function translatePgError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as PgErrorLike;
  if (e.code === '23505') {
    const known = e.constraint === undefined ? undefined : UNIQUE_CONSTRAINTS[e.constraint];
    return known ? new AppError('conflict', known.message, { field: known.field }) : new AppError('conflict', 'The record already exists');
  }
  if (e.code === '23503') return new AppError('not_found', 'Workspace not found', { field: 'id' });
  if (isConnectionFailure(err)) return new AppError('service_unavailable', 'The database is unavailable; retry the request');
  const state = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : '';
  const out = new AppError('server_error', `Database error${state}`);
  // Kept for the server's own log (not enumerable: never serialized into a response).
  Object.defineProperty(out, 'cause', { value: err, enumerable: false });
  return out;
}

/** Runs `fn`, rethrowing any failure as translatePgError does. */
export async function pgGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}
