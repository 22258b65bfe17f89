/**
 * One exec task: a process started from an exec request, its captured output and
 * its outcome. Output is capped per stream (`truncated: true` beyond the cap; the
 * rest is still drained so the process never blocks on a full pipe). Listeners can
 * follow output live (`stdout`/`stderr` events carry raw Buffers, `exit` ends).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { ResolvedCommand } from './command.js';
import { isoNow, signalExitCode, stopGroup } from '../process.js';
import { AppError } from '../../contract/errors.js';
import { spawnErrorCode, spawnFailureText } from './spawn-failure.js';
import { firstEvent } from '../../util/events.js';

export type TaskStatus = 'pending' | 'running' | 'exited' | 'failed';

/** How long to wait for stdio to close after the leader exited (background children may hold it). */
const STDIO_DRAIN_MS = 200;

export class CappedOutput {
  private chunks: Buffer[] = [];
  bytes = 0;
  truncated = false;

  constructor(private readonly cap: number) {}

  append(chunk: Buffer): void {
    const room = this.cap - this.bytes;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept !== chunk) this.truncated = true;
    this.chunks.push(kept);
    this.bytes += kept.length;
  }

  text(): string {
    return this.buffer().toString('utf8');
  }

  /** The kept bytes (shared, do not modify). */
  buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  drop(): void {
    this.chunks = [];
    this.bytes = 0;
  }
}

export interface TaskOptions {
  command: ResolvedCommand;
  cwd: string;
  env: Record<string, string>;
  /** 0 = no timeout. */
  timeoutSeconds: number;
  /** Metadata kept after exit: seconds; -1 = forever. */
  ttlSeconds: number;
  keepLogs: boolean;
  outputCap: number;
  /**
   * Keep stdin open for `POST /exec/:id/input` (streamed tasks). Otherwise stdin is
   * closed at once, so commands that read it see EOF instead of hanging.
   */
  openStdin?: boolean;
}

export class ExecTask extends EventEmitter {
  readonly id = randomBytes(6).toString('hex');
  readonly createdAt = isoNow();
  readonly stdout: CappedOutput;
  readonly stderr: CappedOutput;
  status: TaskStatus = 'pending';
  pid: number | undefined;
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  error: string | undefined;
  /** The errno code of a spawn failure (`ENOENT`), for `details.reason`. */
  errorCode: string | undefined;
  timedOut = false;
  startedAt: string | undefined;
  exitedAt: string | undefined;
  /** Date.now() at exit, for TTL expiry. */
  exitedAtMs: number | undefined;
  logsDropped = false;
  /** Resolves once the task is finished (exited or failed). */
  readonly done: Promise<void>;
  /** The live process (kept for stdin input and streaming routes to come). */
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private finish!: () => void;

  constructor(readonly opts: TaskOptions) {
    super();
    this.stdout = new CappedOutput(opts.outputCap);
    this.stderr = new CappedOutput(opts.outputCap);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get running(): boolean {
    return this.status === 'pending' || this.status === 'running';
  }

  /** Spawns the process in a new session; spawn failures end the task as `failed`. */
  start(): void {
    const { command, cwd, env } = this.opts;
    let child: ChildProcess;
    try {
      // Without openStdin the process reads /dev/null (EOF at once): one pipe fewer to make and close.
      const stdin = this.opts.openStdin ? 'pipe' : 'ignore';
      child = spawn(command.file, command.args, { cwd, env, detached: true, stdio: [stdin, 'pipe', 'pipe'] });
    } catch (err) {
      this.fail(err);
      return;
    }
    this.child = child;
    // EPIPE after the process closed its stdin is not an agent error.
    child.stdin?.on('error', () => undefined);
    child.on('spawn', () => {
      this.status = 'running';
      this.pid = child.pid;
      this.startedAt = isoNow();
      this.emit('started');
      if (this.opts.timeoutSeconds > 0) {
        this.timer = setTimeout(() => this.onTimeout(), this.opts.timeoutSeconds * 1000);
      }
    });
    child.on('error', (err) => {
      if (child.pid === undefined) this.fail(err);
    });
    child.stdout?.on('data', (c: Buffer) => this.output('stdout', c));
    child.stderr?.on('data', (c: Buffer) => this.output('stderr', c));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
  }

  /** Stops the whole process group (SIGTERM, SIGKILL after a grace period). */
  kill(): void {
    this.closeInput();
    if (this.pid !== undefined && this.running) stopGroup(this.pid);
  }

  /** Resolves once the process was spawned or the task failed to start (status left `pending`). */
  started(): Promise<void> {
    if (this.status !== 'pending') return Promise.resolve();
    return firstEvent(this, ['started', 'exit']);
  }

  /**
   * Writes raw bytes to the task's stdin (runtime.md §5.6); resolves with the count
   * once the pipe accepted them. Throws invalid_state when the task is not running or
   * its stdin is closed.
   */
  async writeInput(data: Buffer): Promise<number> {
    const stdin = this.child?.stdin;
    if (!this.running || !stdin || stdin.destroyed || stdin.writableEnded) {
      throw new AppError('invalid_state', `Task ${this.id} is not accepting input`, {
        task_id: this.id,
        status: this.status,
      });
    }
    if (data.length === 0) return 0;
    await new Promise<void>((resolve, reject) => {
      stdin.write(data, (err) => (err ? reject(new AppError('invalid_state', 'stdin closed', { reason: spawnErrorCode(err) ?? 'closed' })) : resolve()));
    });
    return data.length;
  }

  /** Closes stdin (EOF for the process); no-op when already closed. */
  closeInput(): void {
    this.child?.stdin?.end();
  }

  /** The wire shape (runtime.md §5.1); output only when asked (lists omit it). */
  toJSON(withOutput = true): Record<string, unknown> {
    const o: Record<string, unknown> = {
      id: this.id,
      command: this.opts.command.command,
      status: this.status,
      created_at: this.createdAt,
      ttl_seconds: this.opts.ttlSeconds,
    };
    if (this.pid !== undefined) o.guest_pid = this.pid;
    if (this.exitCode !== undefined) o.exit_code = this.exitCode;
    if (this.signal) o.signal = this.signal;
    if (this.error) o.error = this.error;
    if (this.timedOut) o.timed_out = true;
    if (this.startedAt) o.started_at = this.startedAt;
    if (this.exitedAt) o.exited_at = this.exitedAt;
    if (withOutput) {
      o.stdout = this.stdout.text();
      o.stderr = this.stderr.text();
      if (this.stdout.truncated || this.stderr.truncated) o.truncated = true;
      if (this.logsDropped) o.logs_dropped = true;
    }
    return o;
  }

  private output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream].append(chunk);
    this.emit(stream, chunk);
  }

  private onTimeout(): void {
    this.timedOut = true;
    this.error = `Command timed out after ${this.opts.timeoutSeconds} s`;
    this.kill();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.exitCode = code ?? (signal ? signalExitCode(signal) : undefined);
    this.signal = signal ?? undefined;
    // Background children may keep the pipes open: wait briefly, then stop reading.
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      this.end(this.timedOut ? 'failed' : 'exited');
    };
    child.once('close', settle);
    setTimeout(settle, STDIO_DRAIN_MS).unref();
  }

  /** A spawn failure: the caller sees its errno code, never Node's own text. */
  private fail(err: unknown): void {
    this.errorCode = spawnErrorCode(err);
    this.error = spawnFailureText(err, this.opts.command.file);
    this.end('failed');
  }

  private end(status: TaskStatus): void {
    if (!this.running) return;
    this.status = status;
    this.exitedAt = isoNow();
    this.exitedAtMs = Date.now();
    this.child = null;
    this.emit('exit');
    this.finish();
  }
}
