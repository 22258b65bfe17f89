/**
 * The workspace's multiplexed WebSocket `/ws` (runtime.md §9), one per workspace in the page:
 * `acquireSocket(id)` hands out the shared instance (reference counted; `release` closes it when
 * the last user leaves). The runtime keeps ONE live `/ws` per workspace and a new one replaces
 * the old, so the page never opens a second one itself.
 *
 * Reconnects after anything but a deliberate close, with backoff (0.5 s × 1.7ⁿ, at most 15 s,
 * jittered; at once when the browser comes back online or on `retryNow()`). Before each attempt
 * every listener's `prepare()` runs (the terminal list, which also renews a stale token through
 * the 401 retry of api/runtime.ts). A close with reason "replaced by a newer connection" means
 * another client took the workspace's socket: the state becomes `displaced` and nothing
 * reconnects until `reconnect()` (no endless fight). A 1008 close (token revoked) drops the
 * cached token. Access errors (public access or runtime API turned off) stop the retries.
 *
 * Frames: binary = [terminal id byte, …bytes] both ways; text = JSON control/events.
 */
import { dropToken, isAccessError, socketUrl } from '../api/runtime.js';

export type SocketState =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'open' }
  | { kind: 'reconnecting'; attempt: number; retryAt: number; error: unknown }
  | { kind: 'displaced' }
  | { kind: 'stopped'; error: unknown };

export interface SocketListener {
  /** Runs before each connection attempt; a throw counts as a failed attempt. */
  prepare?(): Promise<void>;
  onOpen?(): void;
  onLost?(): void;
  onData?(id: number, bytes: Uint8Array): void;
  onMessage?(msg: Record<string, unknown>): void;
  onState?(state: SocketState): void;
}

const REPLACED = /replaced/i;

export function backoffMs(attempt: number, random = Math.random()): number {
  const base = Math.min(15_000, 500 * 1.7 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}

export class RuntimeSocket {
  state: SocketState = { kind: 'idle' };
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private preparing = false;
  private attempt = 0;
  private readonly listeners = new Set<SocketListener>();
  private readonly online = () => { if (this.state.kind === 'reconnecting') this.retryNow(); };

  constructor(readonly workspaceId: string) {}

  listen(l: SocketListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Connects unless already connected or connecting. */
  start(): void {
    if (this.running) return;
    this.running = true;
    addEventListener('online', this.online);
    void this.connect();
  }

  /** After `displaced` or `stopped`: take the socket back. */
  reconnect(): void {
    this.running = true;
    this.attempt = 0;
    this.retryNow();
  }

  retryNow(): void {
    if (!this.running || this.ws) return;
    this.clearTimer();
    void this.connect();
  }

  close(): void {
    this.running = false;
    this.clearTimer();
    removeEventListener('online', this.online);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'client close');
    this.setState({ kind: 'idle' });
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Terminal input: false when the socket is not open (the bytes are dropped). */
  sendBytes(id: number, bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    const frame = new Uint8Array(bytes.length + 1);
    frame[0] = id & 0xff;
    frame.set(bytes, 1);
    this.ws!.send(frame);
    return true;
  }

  sendJson(msg: Record<string, unknown>): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(JSON.stringify(msg));
    return true;
  }

  private async connect(): Promise<void> {
    if (this.preparing) return;
    if (this.attempt === 0) this.setState({ kind: 'connecting' });
    let url: string;
    this.preparing = true;
    try {
      for (const l of [...this.listeners]) await l.prepare?.();
      url = await socketUrl(this.workspaceId);
    } catch (err) {
      if (!this.running) return;
      if (isAccessError(err)) this.stop(err);
      else this.schedule(err);
      return;
    } finally {
      this.preparing = false;
    }
    if (!this.running || this.ws) return;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setState({ kind: 'open' });
      this.emit((l) => l.onOpen?.());
    };
    ws.onmessage = (ev) => { if (this.ws === ws) this.dispatch(ev.data); };
    ws.onclose = (ev) => { if (this.ws === ws) this.lost(ev); };
  }

  private lost(ev: CloseEvent): void {
    const wasOpen = this.state.kind === 'open';
    this.ws = null;
    if (wasOpen) this.emit((l) => l.onLost?.());
    if (!this.running) return;
    if (ev.code === 1000 && REPLACED.test(ev.reason)) {
      this.running = false;
      this.setState({ kind: 'displaced' });
      return;
    }
    if (ev.code === 1008) dropToken(this.workspaceId);
    this.schedule(new Error(wasOpen ? 'The connection to the workspace was lost' : 'Could not connect to the workspace'));
  }

  private schedule(error: unknown): void {
    this.attempt++;
    const delay = backoffMs(this.attempt);
    this.setState({ kind: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, error });
    this.clearTimer();
    this.timer = setTimeout(() => { this.timer = null; void this.connect(); }, delay);
  }

  private stop(error: unknown): void {
    this.running = false;
    this.setState({ kind: 'stopped', error });
  }

  private dispatch(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      if (data.byteLength < 2) return;
      const bytes = new Uint8Array(data);
      const id = bytes[0]!;
      this.emit((l) => l.onData?.(id, bytes.subarray(1)));
      return;
    }
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // non-JSON text is ignored (runtime.md §9.4)
    }
    if (msg && typeof msg === 'object') this.emit((l) => l.onMessage?.(msg as Record<string, unknown>));
  }

  private setState(state: SocketState): void {
    this.state = state;
    this.emit((l) => l.onState?.(state));
  }

  private emit(fn: (l: SocketListener) => void): void {
    for (const l of [...this.listeners]) fn(l);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

const shared = new Map<string, { socket: RuntimeSocket; users: number }>();

/** The page's socket for a workspace (created on first use). */
export function acquireSocket(workspaceId: string): RuntimeSocket {
  let entry = shared.get(workspaceId);
  if (!entry) {
    entry = { socket: new RuntimeSocket(workspaceId), users: 0 };
    shared.set(workspaceId, entry);
  }
  entry.users++;
  return entry.socket;
}

/** Gives the socket back; the last user closes it. */
export function releaseSocket(socket: RuntimeSocket): void {
  const entry = shared.get(socket.workspaceId);
  if (!entry || entry.socket !== socket) return;
  if (--entry.users > 0) return;
  shared.delete(socket.workspaceId);
  socket.close();
}
