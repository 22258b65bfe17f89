/**
 * Coordination of replicas over one PostgreSQL database (issue 16, item 2):
 * - per-workspace operations: a lease row each (postgres-lease.ts);
 * - reservations: a transaction-level advisory lock shared by all replicas, held on one
 *   pooled connection while `fn` runs (this instance's callers queue in front of it, so
 *   they hold one connection, not one each);
 * - leadership and fencing: a session advisory lock and an epoch row (postgres-leader.ts);
 * - the bus: LISTEN/NOTIFY (postgres-bus.ts).
 * Tables: postgres-schema.ts (made by the store's migration 10; `open` checks them).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { BusPort, CoordinationPort } from '../domain/ports.js';
import { KeyedLock } from '../domain/locks.js';
import { WorkspaceLeases } from './postgres-lease.js';
import { PgLeadership } from './postgres-leader.js';
import { PgBus } from './postgres-bus.js';
import { ADVISORY, ADVISORY_CLASS, requireSchema } from './postgres-schema.js';
import { inTransaction } from './pg-tx.js';

export const DEFAULT_LEASE_TTL_MS = 10_000;
export const DEFAULT_LEADER_RETRY_MS = 500;

export type CoordinationLog = (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;

export interface PostgresCoordinationOptions {
  pool: pg.Pool;
  /** The instance's id (config `instanceId`); a random suffix makes it unique per process. */
  instanceId: string;
  leaseTtlMs?: number;
  leaderRetryMs?: number;
  /**
   * False: this instance never campaigns for leadership (a node daemon: the cluster-wide
   * schedulers are the control replicas'; a node holding the lock would starve them). Default true.
   */
  campaign?: boolean;
  log?: CoordinationLog;
}

export class PostgresCoordination implements CoordinationPort {
  readonly instanceId: string;
  readonly leadership: PgLeadership;
  readonly bus: BusPort;
  private readonly pgBus: PgBus;
  private readonly leases: WorkspaceLeases;
  private readonly reservations = new KeyedLock();
  private readonly pool: pg.Pool;
  private readonly campaign: boolean;

  constructor(o: PostgresCoordinationOptions) {
    this.pool = o.pool;
    this.campaign = o.campaign ?? true;
    this.instanceId = `${o.instanceId}-${randomBytes(4).toString('hex')}`;
    const log: CoordinationLog = o.log ?? (() => {});
    // An idle pooled connection that breaks is replaced on the next checkout; never an unhandled 'error'.
    o.pool.on('error', (err) => log('warn', 'an idle coordination connection failed', { err: String(err) }));
    const newClient = () => new pg.Client({ ...o.pool.options, application_name: `warren-coord ${this.instanceId}`, keepAlive: true });
    this.leases = new WorkspaceLeases({ pool: o.pool, owner: this.instanceId, ttlMs: o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, log });
    const retryMs = o.leaderRetryMs ?? DEFAULT_LEADER_RETRY_MS;
    this.leadership = new PgLeadership({ pool: o.pool, newClient, holder: this.instanceId, retryMs, log });
    this.pgBus = new PgBus({ pool: o.pool, newClient, self: this.instanceId, retryMs, log });
    this.bus = this.pgBus;
  }

  /** A pool on `databaseUrl`, the coordination tables ensured: ready for `start`. */
  static async open(databaseUrl: string, o: Omit<PostgresCoordinationOptions, 'pool'>): Promise<PostgresCoordination> {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, keepAlive: true });
    try {
      await requireSchema(pool);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresCoordination({ ...o, pool });
  }

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.leases.run(id, fn);
  }

  runWithin<T>(id: string, maxWaitMs: number, onBusy: () => Error, fn: () => Promise<T>): Promise<T> {
    return this.leases.runWithin(id, maxWaitMs, onBusy, fn);
  }

  reserve<T>(fn: () => Promise<T>): Promise<T> {
    return this.reservations.run('reserve', () => inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_CLASS, ADVISORY.reserve]);
      return fn();
    }));
  }

  async start(): Promise<void> {
    await this.pgBus.start();
    if (this.campaign) await this.leadership.start();
  }

  /** Leadership and the listener end; the pool ends too (this coordinator owns it). */
  async close(): Promise<void> {
    await this.leadership.close();
    await this.pgBus.close();
    await this.pool.end().catch(() => {});
  }
}
