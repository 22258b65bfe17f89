/**
 * One PTY session (runtime.md §6): a real pseudo-terminal running a command in its
 * own session, with a bounded scrollback ring (64 KiB default, ≤ 262144). Output is
 * kept raw (Buffers, never re-decoded) so binary frames carry exactly what the
 * program wrote. Events: `data` (Buffer), `exit` (code).
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { runtimePath } from '../../contract/agent-runtime.js';
import { AppError } from '../../contract/errors.js';
import { spawnErrorCode } from '../exec/spawn-failure.js';
import { RingBuffer } from '../ring-buffer.js';
import { isoNow, signalGroup, KILL_GRACE_MS } from '../process.js';

/** After the program exits, output must have been quiet this long before the session ends. */
const EXIT_QUIET_MS = 50;
/** Longest wait for the last output after the exit (a child may keep the PTY busy). */
const EXIT_DRAIN_MAX_MS = 1000;

export const DEFAULT_SCROLLBACK = 64 * 1024;
export const MAX_SCROLLBACK = 262_144;

/** The subset of node-pty's IPty the agent uses. */
interface Pty {
  readonly pid: number;
  onData(cb: (d: Buffer | string) => void): void;
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): void;
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
}
interface PtyModule {
  spawn(file: string, args: string[], opts: Record<string, unknown>): Pty;
}

const PTY_PACKAGE = '@homebridge/node-pty-prebuilt-multiarch';
let ptyModule: PtyModule | null = null;

/**
 * node-pty picks its musl addon when the image has /etc/alpine-release, but the agent's
 * Node is the runtime bundle's, built on glibc: so the addon is the bundle's copy of the
 * glibc one for this Node (its libraries resolve through the bundle's RPATH). The choice
 * is a module variable node-pty reads when it loads, so it is set before that. Outside a
 * sandbox (no bundle) node-pty's own choice stands.
 */
function pinPtyAddon(require: NodeJS.Require): void {
  const addon = runtimePath('ptyAddon');
  if (!existsSync(addon)) return;
  const choice = require(`${PTY_PACKAGE}/lib/prebuild-file-path.js`) as { ptyPath?: string | null };
  if (!('ptyPath' in choice)) throw new Error(`${PTY_PACKAGE} no longer chooses its addon through ptyPath`);
  choice.ptyPath = addon;
}

/** node-pty is loaded on first use, so the agent still serves everything else without it. */
function loadPty(): PtyModule {
  if (!ptyModule) {
    try {
      const require = createRequire(import.meta.url);
      pinPtyAddon(require);
      ptyModule = require(PTY_PACKAGE) as PtyModule;
    } catch (err) {
      // The loader's text names the agent's own files; it is logged with the request id.
      throw Object.assign(new AppError('server_error', 'PTY support unavailable', { reason: 'pty_unavailable' }), { cause: err });
    }
  }
  return ptyModule;
}

export interface SessionOptions {
  id: string;
  file: string;
  args: string[];
  /** The command as reported (`command`). */
  command: string[];
  cols: number;
  rows: number;
  scrollbackSize: number;
  cwd: string;
  env: Record<string, string>;
}

export class TerminalSession extends EventEmitter {
  readonly id: string;
  readonly command: string[];
  readonly createdAt = isoNow();
  cols: number;
  rows: number;
  alive = true;
  exitCode = 0;
  private scrollback: RingBuffer;
  private readonly pty: Pty;
  private paused = false;
  private exiting = false;
  private lastDataAt = 0;

  constructor(opts: SessionOptions) {
    super();
    this.id = opts.id;
    this.command = opts.command;
    this.cols = opts.cols;
    this.rows = opts.rows;
    this.scrollback = new RingBuffer(opts.scrollbackSize);
    const file = findExecutable(opts.file, opts.env.PATH ?? '');
    try {
      this.pty = loadPty().spawn(file, opts.args, {
        name: 'xterm-256color',
        cols: opts.cols,
        rows: opts.rows,
        cwd: opts.cwd,
        env: { ...opts.env, TERM: opts.env.TERM ?? 'xterm-256color' },
        encoding: null,
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      // node-pty's text (execvp, paths) stays in the log; the caller gets the errno code when there is one.
      const reason = spawnErrorCode(err) ?? 'pty_spawn_failed';
      throw Object.assign(new AppError('spawn_failed', `Failed to start terminal: ${file}`, { field: 'cmd', reason }), { cause: err });
    }
    this.pty.onData((d) => this.onData(typeof d === 'string' ? Buffer.from(d, 'utf8') : d));
    this.pty.onExit(({ exitCode, signal }) => this.onExit(exitCode, signal ?? 0));
  }

  get pid(): number {
    return this.pty.pid;
  }

  get scrollbackSize(): number {
    return this.scrollback.capacity;
  }

  /** The newest `bytes` bytes of scrollback (all when omitted). */
  snapshot(bytes?: number): Buffer {
    return this.scrollback.snapshot(bytes);
  }

  /** Resizes the ring, keeping the newest bytes that fit. */
  setScrollbackSize(size: number): void {
    const next = new RingBuffer(size);
    next.write(this.scrollback.snapshot());
    this.scrollback = next;
  }

  clearScrollback(): void {
    this.scrollback.clear();
  }

  write(data: Buffer): void {
    if (this.alive && !this.exiting && data.length > 0) this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (!this.alive || this.exiting) return;
    this.pty.resize(cols, rows);
    this.cols = cols;
    this.rows = rows;
  }

  /** Flow control for slow WebSocket clients: stop reading the PTY (the program blocks). */
  pause(): void {
    if (this.alive && !this.paused) {
      this.paused = true;
      this.pty.pause();
    }
  }

  resume(): void {
    if (this.paused) {
      this.paused = false;
      if (this.alive) this.pty.resume();
    }
  }

  /** SIGHUP to the session's process group (what closing a terminal means), SIGKILL later. */
  kill(): void {
    if (!this.alive) return;
    const pid = this.pty.pid;
    this.resume();
    if (!signalGroup(pid, 'SIGHUP')) return;
    setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      command: this.command,
      cols: this.cols,
      rows: this.rows,
      alive: this.alive,
      exit_code: this.exitCode,
      created_at: this.createdAt,
      scrollback_size: this.scrollback.capacity,
    };
  }

  private onData(chunk: Buffer): void {
    this.lastDataAt = Date.now();
    this.scrollback.write(chunk);
    this.emit('data', chunk);
  }

  /**
   * node-pty may report the exit before the program's last output has been read
   * from the PTY: the session stays alive (reading) until the output has been
   * quiet for EXIT_QUIET_MS (at most EXIT_DRAIN_MAX_MS), so scrollback and
   * subscribers always get everything the program wrote before `exit`.
   */
  private onExit(code: number, signal: number): void {
    if (!this.alive || this.exiting) return;
    this.exiting = true;
    this.resume();
    const deadline = Date.now() + EXIT_DRAIN_MAX_MS;
    const finish = () => {
      const quietFor = Date.now() - this.lastDataAt;
      if (quietFor < EXIT_QUIET_MS && Date.now() < deadline) {
        setTimeout(finish, EXIT_QUIET_MS - quietFor);
        return;
      }
      this.alive = false;
      this.exitCode = signal > 0 ? 128 + signal : code;
      this.emit('exit', this.exitCode);
    };
    setTimeout(finish, EXIT_QUIET_MS);
  }
}

/** Resolves a command name on PATH; 500 spawn_failed when nothing executable is found. */
export function findExecutable(file: string, path: string): string {
  const candidates = file.includes('/') ? [file] : path.split(delimiter).filter(Boolean).map((d) => join(d, file));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  throw new AppError('spawn_failed', `Failed to start terminal: ${file}: command not found`, { field: 'cmd', reason: 'command_not_found' });
}
