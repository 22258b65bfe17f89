/**
 * The bus across replicas: one NOTIFY channel, payload JSON `{ from, topic, payload }`.
 * Each instance LISTENs on a dedicated connection and reconnects (and listens again) every
 * `retryMs` when it drops; messages sent meanwhile are not seen by that instance. A message's
 * own publisher delivers it to its local subscribers synchronously and ignores its echo.
 */
import pg from 'pg';
import type { BusPort, BusTopics } from '../domain/ports.js';
import { Dispatch } from './dispatch.js';

export const BUS_CHANNEL = 'warren_bus';

export interface BusOptions {
  pool: pg.Pool;
  newClient: () => pg.Client;
  /** Unique per running instance (echo suppression). */
  self: string;
  retryMs: number;
  log: (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
}

interface Envelope {
  from: string;
  topic: string;
  payload: unknown;
}

export class PgBus implements BusPort {
  private readonly dispatch: Dispatch;
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: BusOptions) {
    this.dispatch = new Dispatch((topic, err) => o.log('error', 'a bus subscriber failed', { topic, err: String(err) }));
  }

  /** Listens; resolves once LISTEN took effect (or throws: the database is unreachable). */
  async start(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => {});
  }

  async publish<K extends keyof BusTopics>(topic: K, payload: BusTopics[K]): Promise<void> {
    this.dispatch.deliver(topic, payload); // before the first await: local effects precede the answer
    const message: Envelope = { from: this.o.self, topic, payload };
    await this.o.pool.query('SELECT pg_notify($1, $2)', [BUS_CHANNEL, JSON.stringify(message)]);
  }

  subscribe<K extends keyof BusTopics>(topic: K, handler: (payload: BusTopics[K]) => void): () => void {
    return this.dispatch.subscribe(topic, handler);
  }

  private async listen(): Promise<void> {
    const c = this.o.newClient();
    c.on('notification', (n) => this.received(n.payload));
    c.on('error', () => this.dropped(c));
    c.on('end', () => this.dropped(c));
    this.client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${BUS_CHANNEL}`);
    } catch (err) {
      this.dropped(c);
      throw err;
    }
  }

  private received(raw: string | undefined): void {
    let m: Envelope;
    try {
      m = JSON.parse(raw ?? '') as Envelope;
    } catch {
      this.o.log('warn', 'a bus message was not JSON; ignored', {});
      return;
    }
    if (m.from !== this.o.self) this.dispatch.deliver(m.topic, m.payload);
  }

  private dropped(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = null;
    c.end().catch(() => {});
    if (this.closed) return;
    this.o.log('warn', 'the bus connection dropped; reconnecting', {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.listen().catch(() => this.scheduleReconnect());
    }, this.o.retryMs);
    this.retry.unref();
  }
}
