/**
 * The workspace's multiplexed WebSocket (runtime.md §9). One active client: a new
 * connection replaces the previous one. Frames:
 *   binary both ways   byte 0 = terminal id, rest = raw terminal bytes
 *   text client→server JSON control ({"channel":"terminal","type":"resize",…}); unknown ignored
 *   text server→client JSON events, always with `channel` (terminal exit, watcher events)
 * On connect every session's scrollback is replayed and exited sessions get `exit`.
 *
 * Memory stays bounded for a slow client: above HIGH_WATER bytes queued in the socket
 * the PTYs are paused (their programs block on write) and watcher events are dropped,
 * counted, and reported by one `overflow` notice per watcher once the socket drained.
 * The token is re-checked every TOKEN_CHECK_MS: a rotated or disabled token closes the
 * socket with 1008.
 */
import type { WebSocket, RawData } from 'ws';
import type { TokenSource } from '../auth.js';
import { constantTimeEqual } from '../auth.js';
import type { TerminalManager } from '../terminals/manager.js';
import type { TerminalSession } from '../terminals/session.js';
import type { WatcherManager } from '../watchers/manager.js';
import type { WatcherEvent } from '../watchers/watcher.js';

export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
const DRAIN_POLL_MS = 20;
const TOKEN_CHECK_MS = 1000;
const PING_MS = 30_000;
/** Largest binary frame sent (scrollback replay is split into frames of this size). */
const MAX_FRAME = 64 * 1024;

interface Client {
  ws: WebSocket;
  token: string;
  timers: NodeJS.Timeout[];
  /** Watcher events dropped while the socket was congested, per watcher id. */
  dropped: Map<string, number>;
  draining: NodeJS.Timeout | null;
}

export class WsHub {
  private client: Client | null = null;

  constructor(
    private readonly terminals: TerminalManager,
    watchers: WatcherManager,
    private readonly tokens: TokenSource,
  ) {
    terminals.on('data', (s: TerminalSession, chunk: Buffer) => this.onTerminalData(s, chunk));
    terminals.on('exit', (s: TerminalSession) => this.sendJson({ channel: 'terminal', type: 'exit', id: s.id, code: s.exitCode }));
    watchers.on('event', (e: WatcherEvent) => this.onWatcherEvent(e));
  }

  get connected(): boolean {
    return this.client !== null;
  }

  /** Makes `ws` the workspace's socket (closing any previous one) and restores terminal state. */
  attach(ws: WebSocket, token: string): void {
    if (this.client) this.detach(this.client, 1000, 'replaced by a newer connection');
    const client: Client = { ws, token, timers: [], dropped: new Map(), draining: null };
    this.client = client;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.detach(client));
    ws.on('error', () => this.detach(client));
    client.timers.push(
      setInterval(() => this.checkToken(client), TOKEN_CHECK_MS),
      setInterval(() => ws.ping(), PING_MS),
    );
    for (const s of this.terminals.list()) {
      const data = s.snapshot();
      for (let off = 0; off < data.length; off += MAX_FRAME) this.sendFrame(s.id, data.subarray(off, off + MAX_FRAME));
      if (!s.alive) this.sendJson({ channel: 'terminal', type: 'exit', id: s.id, code: s.exitCode });
    }
  }

  /** Closes the current client (agent shutdown). */
  close(): void {
    if (this.client) this.detach(this.client, 1001, 'agent shutting down');
  }

  private detach(client: Client, code?: number, reason?: string): void {
    if (this.client !== client) return;
    this.client = null;
    for (const t of client.timers) clearInterval(t);
    if (client.draining) clearInterval(client.draining);
    // Nobody is reading any more: let the programs run (scrollback is a bounded ring).
    for (const s of this.terminals.list()) s.resume();
    if (code !== undefined) client.ws.close(code, reason);
    else client.ws.terminate();
  }

  private checkToken(client: Client): void {
    const current = this.tokens.token();
    if (current === null || !constantTimeEqual(client.token, current)) {
      this.detach(client, 1008, 'runtime token revoked');
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      if (buf.length < 2) return;
      this.terminals.get(String(buf[0]))?.write(buf.subarray(1));
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(buf.toString('utf8'));
    } catch {
      return; // non-JSON text is ignored
    }
    if (msg && typeof msg === 'object') this.onControl(msg as Record<string, unknown>);
  }

  private onControl(msg: Record<string, unknown>): void {
    const channel = msg.channel ?? 'terminal';
    if (channel !== 'terminal') return;
    const session = this.terminals.get(String(msg.id ?? msg.terminal_id ?? ''));
    if (!session) return;
    if (msg.type === 'resize') {
      const cols = Number(msg.cols);
      const rows = Number(msg.rows);
      if (isSize(cols) && isSize(rows)) session.resize(cols, rows);
    } else if (msg.type === 'input' && typeof msg.data === 'string') {
      session.write(Buffer.from(msg.data, 'utf8'));
    }
  }

  private onTerminalData(session: TerminalSession, chunk: Buffer): void {
    if (!this.client) return;
    this.sendFrame(session.id, chunk);
    if (this.client.ws.bufferedAmount > HIGH_WATER) {
      for (const s of this.terminals.list()) s.pause();
      this.startDrainWatch(this.client);
    }
  }

  private onWatcherEvent(event: WatcherEvent): void {
    const client = this.client;
    if (!client) return;
    if (client.ws.bufferedAmount > HIGH_WATER) {
      client.dropped.set(event.watcher_id, (client.dropped.get(event.watcher_id) ?? 0) + 1);
      this.startDrainWatch(client);
      return;
    }
    this.sendJson(event);
  }

  /** Polls until the socket's queue falls below LOW_WATER, then resumes PTYs and reports drops. */
  private startDrainWatch(client: Client): void {
    if (client.draining) return;
    client.draining = setInterval(() => {
      if (this.client !== client || client.ws.bufferedAmount > LOW_WATER) return;
      if (client.draining) clearInterval(client.draining);
      client.draining = null;
      for (const s of this.terminals.list()) s.resume();
      for (const [id, n] of client.dropped) {
        this.sendJson({
          channel: 'watcher',
          type: 'overflow',
          watcher_id: id,
          message: `${n} events dropped: the client did not read fast enough`,
          dropped: n,
        });
      }
      client.dropped.clear();
    }, DRAIN_POLL_MS);
  }

  private sendFrame(id: string, data: Buffer): void {
    const ws = this.client?.ws;
    if (!ws || ws.readyState !== ws.OPEN || data.length === 0) return;
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = Number(id) & 0xff;
    data.copy(frame, 1);
    ws.send(frame, { binary: true });
  }

  private sendJson(msg: Record<string, unknown>): void {
    const ws = this.client?.ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }
}

function isSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 1000;
}
