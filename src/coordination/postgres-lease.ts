/**
 * The operation lease of a workspace across replicas: a row of warren_coord_leases taken with
 * an upsert that succeeds only when no row exists or the existing one has expired (by the
 * database's clock, so replicas' clocks never matter). The holder renews it every TTL/3 while
 * its operation runs and deletes it at the end; a holder that dies stops renewing, and the
 * next caller takes the lease once it expired (at most TTL after the last renewal).
 *
 * Callers on this instance queue in a KeyedLock first (arrival order, no polling among
 * themselves); only the head of each workspace's queue competes for the row, retrying with a
 * short backoff.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { KeyedLock } from '../domain/locks.js';

export interface LeaseOptions {
  pool: pg.Pool;
  /** Recorded as the lease's owner (diagnostics). */
  owner: string;
  ttlMs: number;
  log: (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

const TAKE_SQL = `
INSERT INTO warren_coord_leases AS l (workspace_id, owner, token, expires_at)
VALUES ($1, $2, $3, clock_timestamp() + $4 * interval '1 millisecond')
ON CONFLICT (workspace_id) DO UPDATE
  SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
  WHERE l.expires_at < clock_timestamp()
RETURNING token`;
const RENEW_SQL = `UPDATE warren_coord_leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
  WHERE workspace_id = $1 AND token = $2`;
const RELEASE_SQL = 'DELETE FROM warren_coord_leases WHERE workspace_id = $1 AND token = $2';

const FIRST_BACKOFF_MS = 10;
const MAX_BACKOFF_MS = 200;

export class WorkspaceLeases {
  private readonly local = new KeyedLock();

  constructor(private readonly o: LeaseOptions) {}

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(id, () => this.holding(id, Infinity, null, fn));
  }

  runWithin<T>(id: string, maxWaitMs: number, onBusy: () => Error, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + maxWaitMs;
    return this.local.runWithin(id, maxWaitMs, onBusy, () => this.holding(id, deadline, onBusy, fn));
  }

  private async holding<T>(id: string, deadline: number, onBusy: (() => Error) | null, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    await this.acquire(id, token, deadline, onBusy);
    const renewal = setInterval(() => void this.renew(id, token), Math.max(1, Math.floor(this.o.ttlMs / 3)));
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      // A release that fails leaves the row to expire: the next holder waits at most the TTL.
      await this.o.pool.query(RELEASE_SQL, [id, token])
        .catch((err: unknown) => this.o.log('warn', 'releasing a workspace lease failed; it expires', { id, err: String(err) }));
    }
  }

  /** Takes the row, retrying while another replica holds it; past `deadline`, throws `onBusy()`. */
  private async acquire(id: string, token: string, deadline: number, onBusy: (() => Error) | null): Promise<void> {
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      const taken = await this.o.pool.query(TAKE_SQL, [id, this.o.owner, token, this.o.ttlMs]);
      if (taken.rowCount === 1) return;
      if (onBusy && Date.now() + backoff > deadline) throw onBusy();
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  private async renew(id: string, token: string): Promise<void> {
    try {
      const r = await this.o.pool.query(RENEW_SQL, [id, token, this.o.ttlMs]);
      // Lost: it expired (this process stalled past the TTL) and another replica may hold it now.
      if (r.rowCount === 0) this.o.log('error', 'a workspace lease was lost while its operation ran', { id });
    } catch (err) {
      this.o.log('warn', 'renewing a workspace lease failed', { id, err: String(err) });
    }
  }
}
