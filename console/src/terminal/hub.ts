/**
 * The terminal tab's model, without Preact: the workspace's terminal sessions, one xterm.js
 * screen each, over the page's shared `/ws` (socket.ts).
 *
 * - Before every (re)connection the session list is read (`GET /terminals`): sessions not yet
 *   shown are attached (opening the tab re-attaches what the workspace already runs), shown
 *   ones that vanished are marked closed elsewhere. The first time, with no session at all,
 *   one is created so the tab opens on a prompt.
 * - When the socket opens, every screen resyncs (feed.ts): the runtime replays each session's
 *   scrollback and only what the screen has not shown is written.
 * - Output for an id not shown yet (a session created here whose POST has not answered, or one
 *   created by another client) is held, and the list is read again to attach it.
 * - Input goes out as binary frames; sizes as `{"channel":"terminal","type":"resize",…}`.
 * Views subscribe to `subscribe()` and read `tabs()`, `active`, `socket.state`, `error`.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { closeTerminal, createTerminal, listTerminals, type TerminalInfo } from '../api/terminals.js';
import { TerminalFeed } from './feed.js';
import { acquireSocket, releaseSocket, type RuntimeSocket, type SocketListener } from './socket.js';

const DEFAULT_RING = 64 * 1024;
/** Most output held for a session not shown yet. */
const MAX_PENDING = 256 * 1024;
const FONT = 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace';
const MISSED_NOTE = '\r\n\x1b[33m[output missed while reconnecting]\x1b[0m\r\n';
const encoder = new TextEncoder();

export interface TermTab {
  id: string;
  label: string;
  exited: number | null;
  gone: boolean;
}

/** One session's screen. */
export class TermScreen {
  readonly host = document.createElement('div');
  readonly term: Terminal;
  readonly feed: TerminalFeed;
  private readonly fitter = new FitAddon();
  private opened = false;
  exited: number | null = null;
  gone = false;

  constructor(readonly info: TerminalInfo, send: (bytes: Uint8Array) => void, resized: (cols: number, rows: number) => void) {
    this.host.className = 'term-screen';
    this.term = new Terminal({ cursorBlink: true, fontFamily: FONT, fontSize: 13, scrollback: 5000, cols: info.cols ?? 80, rows: info.rows ?? 24 });
    this.term.loadAddon(this.fitter);
    this.term.onData((d) => send(encoder.encode(d)));
    this.term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
    this.term.onResize(({ cols, rows }) => resized(cols, rows));
    this.feed = new TerminalFeed({
      write: (bytes) => this.term.write(bytes),
      onMissed: () => this.term.write(MISSED_NOTE),
    }, info.scrollback_size || DEFAULT_RING);
  }

  get id(): string {
    return this.info.id;
  }

  /** Puts the screen in `parent` (opening xterm there the first time). */
  mount(parent: HTMLElement, visible: boolean): void {
    if (this.host.parentElement !== parent) parent.appendChild(this.host);
    this.host.hidden = !visible;
    if (!this.opened && visible) {
      this.term.open(this.host);
      this.opened = true;
    }
  }

  /** Fits the screen to its element (only while it is shown: a hidden one has no size). */
  fit(): void {
    if (!this.opened || this.host.hidden || this.host.clientWidth === 0) return;
    try {
      this.fitter.fit();
    } catch {
      // not measurable yet (fonts or layout pending): the next resize fits it
    }
  }

  markExited(code: number): void {
    if (this.exited !== null) return;
    this.exited = code;
    this.term.options.disableStdin = true;
    this.feed.whenLive(() => this.term.write(`\r\n\x1b[2m[process exited with code ${code}]\x1b[0m\r\n`));
  }

  markGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.term.options.disableStdin = true;
    this.feed.whenLive(() => this.term.write('\r\n\x1b[2m[this terminal was closed elsewhere]\x1b[0m\r\n'));
  }

  dispose(): void {
    this.feed.dispose();
    this.term.dispose();
    this.host.remove();
  }
}

export class TerminalHub implements SocketListener {
  readonly socket: RuntimeSocket;
  active: string | null = null;
  error: unknown = null;
  creating = false;
  private readonly screens = new Map<string, TermScreen>();
  private readonly pending = new Map<number, Uint8Array[]>();
  private readonly views = new Set<() => void>();
  private readonly unlisten: () => void;
  private firstAttach = true;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(readonly workspaceId: string) {
    this.socket = acquireSocket(workspaceId);
    this.unlisten = this.socket.listen(this);
  }

  subscribe(fn: () => void): () => void {
    this.views.add(fn);
    return () => this.views.delete(fn);
  }

  start(): void {
    this.socket.start();
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.unlisten();
    releaseSocket(this.socket);
    for (const s of this.screens.values()) s.dispose();
    this.screens.clear();
    this.views.clear();
  }

  tabs(): TermTab[] {
    return [...this.screens.values()]
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((s) => ({ id: s.id, label: `Terminal ${s.id}`, exited: s.exited, gone: s.gone }));
  }

  screen(id: string): TermScreen | undefined {
    return this.screens.get(id);
  }

  select(id: string): void {
    this.active = id;
    this.changed();
  }

  /** Starts a new session sized like the current screen and shows it. */
  async create(): Promise<void> {
    this.creating = true;
    this.error = null;
    this.changed();
    try {
      const current = this.active ? this.screens.get(this.active)?.term : undefined;
      const info = await createTerminal(this.workspaceId, { cols: current?.cols ?? 80, rows: current?.rows ?? 24 });
      this.attach(info);
      this.active = info.id;
    } catch (err) {
      this.error = err;
    } finally {
      this.creating = false;
      this.changed();
    }
  }

  /** Ends a session (`DELETE /terminals/:id`) and removes its tab. */
  async close(id: string): Promise<void> {
    this.error = null;
    const s = this.screens.get(id);
    try {
      if (s && !s.gone) await closeTerminal(this.workspaceId, id);
    } catch (err) {
      this.error = err;
      this.changed();
      return;
    }
    const order = this.tabs().map((t) => t.id);
    s?.dispose();
    this.screens.delete(id);
    if (this.active === id) {
      const rest = order.filter((t) => t !== id);
      this.active = rest[Math.min(order.indexOf(id), rest.length - 1)] ?? null;
    }
    this.changed();
  }

  // ---- socket listener ----

  async prepare(): Promise<void> {
    const list = await listTerminals(this.workspaceId);
    this.sync(list);
    if (this.firstAttach && list.length === 0) {
      this.firstAttach = false;
      try {
        const info = await createTerminal(this.workspaceId, { cols: 80, rows: 24 });
        this.attach(info);
      } catch (err) {
        this.error = err;
      }
      this.changed();
    }
    this.firstAttach = false;
  }

  onOpen(): void {
    for (const s of this.screens.values()) {
      if (s.gone) continue;
      s.feed.beginResync();
      this.socket.sendJson({ channel: 'terminal', type: 'resize', id: s.id, cols: s.term.cols, rows: s.term.rows });
    }
  }

  onLost(): void {
    for (const s of this.screens.values()) s.feed.abandonResync();
    this.pending.clear();
  }

  onData(id: number, bytes: Uint8Array): void {
    const s = this.screens.get(String(id));
    if (s) {
      if (!s.gone) s.feed.push(bytes);
      return;
    }
    const held = this.pending.get(id) ?? [];
    if (held.reduce((n, c) => n + c.length, 0) < MAX_PENDING) held.push(bytes.slice());
    this.pending.set(id, held);
    if (!this.creating) this.refreshSoon();
  }

  onMessage(msg: Record<string, unknown>): void {
    if ((msg.channel ?? 'terminal') !== 'terminal' || msg.type !== 'exit') return;
    const s = this.screens.get(String(msg.id));
    if (!s) return;
    s.markExited(Number(msg.code ?? 0));
    this.changed();
  }

  onState(): void {
    this.changed();
  }

  // ---- internals ----

  private attach(info: TerminalInfo): TermScreen {
    let s = this.screens.get(info.id);
    if (s) return s;
    const num = Number(info.id);
    s = new TermScreen(info,
      (bytes) => { if (!s!.gone && s!.exited === null) this.socket.sendBytes(num, bytes); },
      (cols, rows) => this.socket.sendJson({ channel: 'terminal', type: 'resize', id: info.id, cols, rows }));
    this.screens.set(info.id, s);
    for (const chunk of this.pending.get(num) ?? []) s.feed.push(chunk);
    this.pending.delete(num);
    if (!this.active) this.active = info.id;
    return s;
  }

  /** Applies a session list: attach new sessions, mark vanished ones, drop stray output. */
  private sync(list: TerminalInfo[]): void {
    const ids = new Set(list.map((t) => t.id));
    for (const info of list) {
      // An id freed elsewhere and given to a new session: the old screen makes way.
      const old = this.screens.get(info.id);
      if (old?.gone) {
        old.dispose();
        this.screens.delete(info.id);
      }
      this.attach(info);
    }
    for (const s of this.screens.values()) if (!ids.has(s.id)) s.markGone();
    for (const id of [...this.pending.keys()]) if (!ids.has(String(id))) this.pending.delete(id);
    this.changed();
  }

  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      listTerminals(this.workspaceId).then((list) => this.sync(list), () => undefined);
    }, 300);
  }

  private changed(): void {
    for (const fn of [...this.views]) fn();
  }
}
