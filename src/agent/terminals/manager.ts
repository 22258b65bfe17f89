/**
 * The workspace's terminal sessions (runtime.md §6, §12): ids are the decimal
 * strings "1".."255" (one byte on the WebSocket), the lowest free one is used; at
 * most 10 sessions are alive at once (429 beyond). Exited sessions stay listed (with
 * exit code and scrollback) until deleted; beyond MAX_EXITED the oldest are dropped,
 * so the id space never runs out. Re-emits `data` (session, Buffer) and `exit` (session).
 */
import { EventEmitter } from 'node:events';
import { AppError } from '../../contract/errors.js';
import { parseCmd, resolveCommand } from '../exec/command.js';
import { defaultCwd, userShell, workspaceEnv } from '../process.js';
import { DEFAULT_SCROLLBACK, MAX_SCROLLBACK, TerminalSession } from './session.js';

export const MAX_ALIVE_TERMINALS = 10;
const MAX_EXITED = 10;
const MAX_ID = 255;

export interface CreateTerminalInput {
  cmd?: unknown;
  command?: unknown;
  shell?: unknown;
  cols?: unknown;
  rows?: unknown;
  scrollback_size?: unknown;
}

export class TerminalManager extends EventEmitter {
  private readonly sessions = new Map<string, TerminalSession>();

  constructor(private readonly configEnv: () => Record<string, string>) {
    super();
  }

  list(): TerminalSession[] {
    return [...this.sessions.values()].sort((a, b) => Number(a.id) - Number(b.id));
  }

  get(id: string): TerminalSession | undefined {
    return this.sessions.get(id);
  }

  /** Starts a session from a request body (validated here; 400 on bad input). */
  create(input: CreateTerminalInput): TerminalSession {
    const argv = parseCmd(input.cmd ?? input.command ?? input.shell ?? userShell());
    const resolved = resolveCommand(argv, 'auto');
    const cols = dimension(input.cols, 'cols', 80);
    const rows = dimension(input.rows, 'rows', 24);
    const scrollbackSize = scrollbackBytes(input.scrollback_size);
    const alive = this.list().filter((s) => s.alive).length;
    if (alive >= MAX_ALIVE_TERMINALS) {
      throw new AppError('rate_limited', `Too many terminal sessions (max ${MAX_ALIVE_TERMINALS})`, {
        limit: MAX_ALIVE_TERMINALS,
      });
    }
    this.evictExited();
    const id = this.freeId();
    const session = new TerminalSession({
      id,
      file: resolved.file,
      args: resolved.args,
      command: argv,
      cols,
      rows,
      scrollbackSize,
      cwd: defaultCwd(),
      env: workspaceEnv(this.configEnv()),
    });
    this.sessions.set(id, session);
    session.on('data', (chunk: Buffer) => this.emit('data', session, chunk));
    session.once('exit', () => this.emit('exit', session));
    return session;
  }

  /** Kills and forgets a session; false when unknown. */
  delete(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.kill();
    s.removeAllListeners('data');
    this.sessions.delete(id);
    return true;
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.delete(id);
  }

  private freeId(): string {
    for (let i = 1; i <= MAX_ID; i++) if (!this.sessions.has(String(i))) return String(i);
    throw new AppError('rate_limited', 'No free terminal id');
  }

  private evictExited(): void {
    const exited = [...this.sessions.values()].filter((s) => !s.alive);
    for (const s of exited.slice(0, Math.max(0, exited.length - MAX_EXITED + 1))) this.sessions.delete(s.id);
  }
}

function dimension(v: unknown, field: string, fallback: number): number {
  if (v === undefined || v === null || v === '' || v === 0) return fallback;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) {
    throw new AppError('bad_request', `${field} must be an integer between 1 and 1000`, { field });
  }
  return n;
}

/** 0 or absent ⇒ 64 KiB; otherwise 1…262144 bytes. */
export function scrollbackBytes(v: unknown): number {
  if (v === undefined || v === null || v === '' || v === 0 || v === '0') return DEFAULT_SCROLLBACK;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SCROLLBACK) {
    throw new AppError('bad_request', `scrollback_size must be an integer between 0 and ${MAX_SCROLLBACK}`, {
      field: 'scrollback_size',
    });
  }
  return n;
}
