/**
 * Leadership across replicas: the leader is the instance whose dedicated connection holds a
 * session advisory lock. PostgreSQL releases it when that session ends — the process died
 * (its socket closed), the connection broke, or it was terminated — so a standby trying every
 * `retryMs` takes over within about `retryMs` of a SIGKILL.
 *
 * Each new term increments warren_coord_leader.epoch on the same connection and keeps the
 * value: `fenced(epoch, fn)` runs `fn` inside a transaction holding the epoch row FOR SHARE
 * and only if the row still carries `epoch`. A new leader's increment waits for such a
 * section to end, and every section after it is refused: a deposed leader's writes cannot
 * interleave with its successor's. Fenced sections must be short (they delay a takeover).
 *
 * Losing the connection deposes at once: listeners hear `false` before anything else runs.
 */
import pg from 'pg';
import { StaleEpochError, type LeadershipPort } from '../domain/ports.js';
import { ADVISORY, ADVISORY_CLASS } from './postgres-schema.js';
import { inTransaction } from './pg-tx.js';

export interface LeaderOptions {
  pool: pg.Pool;
  /** A new, unconnected client for the dedicated leader session. */
  newClient: () => pg.Client;
  holder: string;
  retryMs: number;
  log: (level: 'warn' | 'error' | 'info', msg: string, fields: Record<string, unknown>) => void;
}

type Listener = (leader: boolean, epoch: number | null) => void;

export class PgLeadership implements LeadershipPort {
  private client: pg.Client | null = null;
  private term: number | null = null;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private attempting: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: LeaderOptions) {}

  isLeader(): boolean {
    return this.term !== null;
  }

  epoch(): number | null {
    return this.term;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Makes the first attempt, then keeps trying (standby) or checking the session (leader). */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.o.retryMs);
    this.timer.unref();
  }

  /** Ends the session (the lock goes with it) and stops trying. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.attempting;
    const c = this.client;
    if (c) {
      this.depose(c);
      await c.end().catch(() => {});
    }
  }

  async fenced<T>(epoch: number, fn: () => Promise<T>): Promise<T> {
    if (this.term !== epoch) throw new StaleEpochError(epoch, this.term);
    return inTransaction(this.o.pool, async (c) => {
      const row = (await c.query<{ epoch: string }>('SELECT epoch FROM warren_coord_leader WHERE id = 1 FOR SHARE')).rows[0];
      const current = row ? Number(row.epoch) : null;
      if (current !== epoch) throw new StaleEpochError(epoch, current);
      return fn();
    });
  }

  private attempt(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.attempting ??= this.step().finally(() => { this.attempting = null; });
    return this.attempting;
  }

  private async step(): Promise<void> {
    let c = this.client;
    try {
      if (!c) c = await this.connect();
      if (this.term !== null) {
        await c.query('SELECT 1'); // the session still lives (a dead one fails here at the latest)
        return;
      }
      const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [ADVISORY_CLASS, ADVISORY.leader])).rows[0]?.ok;
      if (!got || this.closed) return;
      const row = (await c.query<{ epoch: string }>(
        'UPDATE warren_coord_leader SET epoch = epoch + 1, holder = $1, since = now() WHERE id = 1 RETURNING epoch', [this.o.holder],
      )).rows[0];
      if (this.client !== c) return; // the session broke meanwhile: the lock went with it
      this.term = Number(row!.epoch);
      this.o.log('info', 'this instance is the leader', { epoch: this.term });
      this.emit(true, this.term);
    } catch (err) {
      if (c) this.depose(c);
      this.o.log('warn', 'leader session failed; retrying', { err: String(err) });
    }
  }

  private async connect(): Promise<pg.Client> {
    const c = this.o.newClient();
    c.on('error', () => this.depose(c));
    c.on('end', () => this.depose(c));
    this.client = c;
    await c.connect();
    return c;
  }

  /** The session `c` is gone (or going): no lock, no term. */
  private depose(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = null;
    c.end().catch(() => {});
    if (this.term === null) return;
    const ended = this.term;
    this.term = null;
    this.o.log('warn', 'this instance is no longer the leader', { epoch: ended });
    this.emit(false, null);
  }

  private emit(leader: boolean, epoch: number | null): void {
    for (const l of [...this.listeners]) {
      try {
        l(leader, epoch);
      } catch (err) {
        this.o.log('error', 'a leadership listener failed', { err: String(err) });
      }
    }
  }
}
