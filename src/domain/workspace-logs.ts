/**
 * Logs of a workspace (control-plane.md §14): the boot log — Warren's own provisioning
 * steps, kept by the host and readable in any state — and the cmd log and workload log
 * files, kept by the agent inside the workspace (on its layer, under its disk quota) and
 * read through the agent while it runs. File names are checked here and again by the
 * agent; a name never becomes a host path.
 */
import { AppError } from '../contract/errors.js';
import type { LogSource } from '../contract/logs.js';
import type { WorkspaceRecord } from '../store/store.js';
import { pushIterable } from '../util/push-iterable.js';
import type { AgentControlPort, AgentTarget, BootLogLine, BootLogPort } from './ports.js';

/** One line as every log route shows it: the CLI prints `[timestamp] message`; Swift reads `line`. */
export interface LogLine {
  source: string;
  timestamp: string;
  message: string;
  line: string;
  stream?: string;
  level?: string;
}

interface AgentEntry {
  data?: unknown;
  stream?: unknown;
  timestamp?: unknown;
}

const FILE_NAME = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/)?[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

function fromBoot(l: BootLogLine): LogLine {
  return { source: 'boot', timestamp: l.timestamp, message: l.message, line: l.message, level: l.level };
}

/** An agent entry holds one read's lines (newlines kept): one LogLine per line, sharing its timestamp. */
function fromAgent(e: AgentEntry, source: string): LogLine[] {
  const data = typeof e.data === 'string' ? e.data : '';
  const timestamp = typeof e.timestamp === 'string' ? e.timestamp : new Date().toISOString();
  const stream = e.stream === 'stderr' ? 'stderr' : 'stdout';
  const lines = data.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((message) => ({ source, timestamp, message, line: message, stream }));
}

export class WorkspaceLogs {
  constructor(
    private readonly boot: BootLogPort,
    private readonly agent: AgentControlPort,
    private readonly target: (rec: WorkspaceRecord) => AgentTarget,
    /** The record as stored now: tells a stopped or restarted workspace from a broken agent. */
    private readonly current: (id: string) => Promise<WorkspaceRecord | null> = async () => null,
  ) {}

  /**
   * Calls the agent of `rec`, read as running. Log reads take no workspace lock, so a stop or
   * restart can take the agent away mid-call: that is 409 `workspace_not_running`, not a 502.
   */
  private async callAgent<T>(rec: WorkspaceRecord, method: string, path: string): Promise<T> {
    try {
      return await this.agent.call<T>(this.target(rec), method, path);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'agent_unreachable') throw err;
      const now = await this.current(rec.id);
      if (now && (now.state !== 'running' || now.version !== rec.version)) {
        throw new AppError('workspace_not_running', `The workspace changed state (${now.state}) while its logs were read; retry`, {
          field: 'id', current_state: now.state,
        });
      }
      throw err;
    }
  }

  private live(rec: WorkspaceRecord): boolean {
    return rec.state === 'running';
  }

  private requireLive(rec: WorkspaceRecord, what: string): void {
    if (!this.live(rec)) {
      throw new AppError('workspace_not_running', `The ${what} is read from the running workspace; it is ${rec.state}`, {
        field: 'source', current_state: rec.state,
      });
    }
  }

  async get(rec: WorkspaceRecord, source: LogSource, tail: number): Promise<LogLine[]> {
    if (source === 'cmd') this.requireLive(rec, 'command log');
    const boot = source === 'cmd' ? [] : (await this.boot.read(rec.id, tail)).map(fromBoot);
    const cmd = source === 'boot' || !this.live(rec) ? [] : await this.cmdTail(rec, tail);
    return [...boot, ...cmd].slice(-tail);
  }

  private async cmdTail(rec: WorkspaceRecord, tail: number): Promise<LogLine[]> {
    const res = await this.callAgent<{ entries?: AgentEntry[] }>(rec, 'GET', `/_warren/logs/cmd?tail=${tail}`);
    return (res.entries ?? []).flatMap((e) => fromAgent(e, 'cmd')).slice(-tail);
  }

  async clear(rec: WorkspaceRecord): Promise<void> {
    await this.boot.clear(rec.id);
    if (this.live(rec)) await this.callAgent(rec, 'DELETE', '/_warren/logs');
  }

  async files(rec: WorkspaceRecord): Promise<Array<{ name: string; size: number; modified: string | null }>> {
    const files: Array<{ name: string; size: number; modified: string | null }> = await this.boot.files(rec.id);
    if (!this.live(rec)) return files;
    const res = await this.callAgent<{ files?: Array<{ name?: unknown; size?: unknown; modified?: unknown }> }>(
      rec, 'GET', '/_warren/logs/files');
    for (const f of res.files ?? []) {
      if (typeof f.name !== 'string' || !FILE_NAME.test(f.name) || files.some((x) => x.name === f.name)) continue;
      files.push({ name: f.name, size: typeof f.size === 'number' ? f.size : 0, modified: typeof f.modified === 'string' ? f.modified : null });
    }
    return files;
  }

  async file(rec: WorkspaceRecord, name: string, tail: number): Promise<LogLine[]> {
    if (!FILE_NAME.test(name) || name.split('/').some((p) => p === '.' || p === '..')) {
      throw new AppError('not_found', 'No such log file', { field: 'name' });
    }
    const boot = await this.boot.readFile(rec.id, name);
    if (boot) return boot.map(fromBoot).slice(-tail);
    if (!this.live(rec)) throw new AppError('not_found', 'No such log file (the workspace is not running)', { field: 'name' });
    const res = await this.callAgent<{ entries?: AgentEntry[] }>(
      rec, 'GET', `/_warren/logs/file?name=${encodeURIComponent(name)}&tail=${tail}`);
    return (res.entries ?? []).flatMap((e) => fromAgent(e, name)).slice(-tail);
  }

  /** Replays the boot log, follows it while a boot runs, and ends once it is done. */
  bootStream(rec: WorkspaceRecord, tail: number): (signal: AbortSignal) => AsyncIterable<unknown> {
    return (signal) => followBootLog(this.boot, rec.id, tail, signal, 2000, fromBoot);
  }

  /** Replays the cmd log's tail then follows it while the workspace runs. */
  cmdStream(rec: WorkspaceRecord, tail: number): (signal: AbortSignal) => AsyncIterable<unknown> {
    this.requireLive(rec, 'command log');
    const target = this.target(rec);
    const agent = this.agent;
    return async function* (signal) {
      for await (const e of agent.stream(target, `/_warren/logs/cmd/stream?tail=${tail}`, signal)) yield* fromAgent(e, 'cmd');
    };
  }
}

/**
 * A boot log's lines as an iterable: the replayed tail, then new lines while a boot runs,
 * ending with the boot (or when `signal` aborts, which stops following). At most `queue`
 * lines wait for a slow reader (src/util/push-iterable.ts). Each line goes through `map`.
 */
export function followBootLog<T>(
  log: BootLogPort, id: string, tail: number, signal: AbortSignal, queue: number, map: (l: BootLogLine) => T,
): AsyncIterable<T> {
  return pushIterable<T>((push, end) => {
    let stop: (() => void) | null = null;
    let cancelled = false;
    log.follow(id, tail, (l) => push(map(l)), end).then((s) => {
      if (cancelled) s();
      else stop = s;
    }, end);
    return () => {
      cancelled = true;
      stop?.();
    };
  }, signal, queue);
}
