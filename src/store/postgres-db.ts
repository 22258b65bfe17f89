/**
 * The PostgreSQL connection pool of the store and what start-up needs to know about it.
 *
 * - One `pg.Pool` per store; its size and the connect timeout are fixed here (documented
 *   in docs/SPECIFICATION.md): a connect that does not finish in CONNECT_TIMEOUT_MS fails.
 * - int8 and numeric come back as JS numbers (counts, byte totals and sums are far below
 *   2^53), so rows map to records without string handling; set per pool, not globally.
 * - `describeTarget` names host, port, database and user of a URL — never the password —
 *   and `startupError` turns a failed first connect into one line an operator can act on.
 */
import pg from 'pg';
import { isConnectionFailure } from './postgres-errors.js';

/** Bound on establishing one connection (TCP, TLS, authentication). */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Connections per store (per Warren process). */
export const POOL_SIZE = 10;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** Type parsers of the store's pool: int8/numeric → number; the rest as node-postgres does. */
const storeTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** Host, port, database and user of a postgres:// URL, with libpq's defaults; throws on a URL that does not parse. */
export function describeTarget(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The URL may carry a password: never echo it.
    throw new Error('database URL is not a valid postgres://user:password@host:port/database URL');
  }
  // What node-postgres itself falls back to: the URL, then PG* variables, then its defaults.
  const user = decodeURIComponent(u.username) || process.env.PGUSER || String(pg.defaults.user ?? '');
  const host = u.searchParams.get('host') ?? (u.hostname.replace(/^\[|\]$/g, '') || process.env.PGHOST || String(pg.defaults.host));
  const port = Number(u.port || u.searchParams.get('port') || process.env.PGPORT || pg.defaults.port);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || process.env.PGDATABASE || user;
  return { host, port, database, user };
}

export function targetText(t: PgTarget): string {
  const name = (v: string) => (v ? `"${v}"` : '(default)');
  return `PostgreSQL at ${t.host}:${t.port}, database ${name(t.database)} (user ${name(t.user)})`;
}

export function createPool(url: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000,
    types: storeTypes,
  });
  // An idle connection the server drops (restart, failover) must not crash the process:
  // the pool discards it and the next query opens a new one.
  pool.on('error', () => {});
  return pool;
}

/** Runs `fn` in one transaction on one pooled connection: COMMIT on success, ROLLBACK on failure. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    broken = isConnectionFailure(err);
    if (!broken) await client.query('ROLLBACK').catch(() => { broken = true; });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** What went wrong on a first connect, in words (no server text that could echo secrets). */
function connectFailure(err: unknown): string {
  const e = (err ?? {}) as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found';
    case 'ETIMEDOUT': return 'timed out';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable';
    case '28P01': case '28000': return 'authentication failed';
    case '3D000': return 'no such database';
    case '57P03': return 'the server is starting up or shutting down';
    case '53300': return 'too many connections';
  }
  const text = e.message ?? '';
  if (/timeout/i.test(text)) return `timed out after ${CONNECT_TIMEOUT_MS / 1000} s`;
  if (/SASL|password/i.test(text)) return 'authentication failed (the server wants a password)';
  if (/terminated/i.test(text)) return 'the server closed the connection';
  return typeof e.code === 'string' ? `connection failed (${e.code})` : 'connection failed';
}

/** The start-up error for a failed first connect: one line naming the target and the failure. */
export function startupError(target: PgTarget, err: unknown): Error {
  return new Error(`cannot use ${targetText(target)}: ${connectFailure(err)}`);
}
