/**
 * Runs the workspace's startup command (config.json `cmd`) with the workspace env,
 * in its own process group, and keeps the newest output in a bounded ring buffer.
 * The command runs once per agent start; its final state is reported in
 * `GET /runtime` (`boot_services.cmd`). `onExit` hears how it ended (also when it could
 * not be spawned: 127), unless it was stopped on purpose — restarts are Warren's
 * restart policy, applied to the whole workspace (src/domain/exits.ts).
 */
import { resolveUser, UserLookupError } from './users.js';
import { spawnFailureText } from './exec/spawn-failure.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { RingBuffer } from './ring-buffer.js';
import { readOutput, type OutputSink } from './logs/entry-log.js';
import { defaultCwd, isoNow, signalExitCode, stopGroup, workspaceEnv } from './process.js';

export type SupervisedState = 'idle' | 'starting' | 'running' | 'exited' | 'failed' | 'stopped';

/** Shape of `RuntimeBootService` (runtime.md §2.2). */
export interface BootServiceStatus {
  subsystem: string;
  state: SupervisedState;
  supervisor_pid: number;
  pid?: number;
  attempts: number;
  exit_code?: number;
  updated_at: string;
  command: string[];
  error?: string;
}

export interface SupervisorOptions {
  cmd?: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Run as this OCI `User` (src/agent/users.ts); absent: root. */
  user?: string;
  /** Output bytes kept (stdout and stderr interleaved). Default 256 KiB. */
  ringBytes?: number;
  /** The command ended by itself with this status (128+n for signal n; 127 when it could not start). */
  onExit?: (code: number) => void;
  /** Also receives the output (the `cmd.log` file, src/agent/logs/entry-log.ts). */
  sink?: OutputSink;
}

export class Supervisor {
  private readonly ring: RingBuffer;
  private child: ChildProcess | null = null;
  private state: SupervisedState = 'idle';
  private attempts = 0;
  private exitCode: number | undefined;
  private error: string | undefined;
  private updatedAt = isoNow();
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.ring = new RingBuffer(opts.ringBytes ?? 256 * 1024);
  }

  /** Starts the command if one is configured; never throws. */
  start(): void {
    const cmd = this.opts.cmd;
    if (!cmd || cmd.length === 0 || this.child) return;
    this.attempts += 1;
    this.setState('starting');
    let child: ChildProcess;
    try {
      const as = this.opts.user ? resolveUser(this.opts.user) : null;
      // OCI: a WorkingDir the image lacks is made (owned by root, as runc does).
      if (this.opts.cwd) mkdirSync(this.opts.cwd, { recursive: true });
      const env = workspaceEnv(this.opts.env);
      if (as?.home && as.uid !== 0 && env.HOME === '/root') env.HOME = as.home;
      child = spawn(cmd[0] as string, cmd.slice(1), {
        cwd: this.opts.cwd ?? defaultCwd(),
        env,
        ...(as ? { uid: as.uid, gid: as.gid } : {}),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.fail(err);
      return;
    }
    this.child = child;
    const sink = this.opts.sink;
    readOutput(child, (stream, c) => {
      this.ring.write(c);
      sink?.write(stream, c);
    });
    child.on('close', () => sink?.endOfOutput());
    child.on('spawn', () => this.setState('running'));
    child.on('error', (err) => {
      if (child.pid === undefined) this.fail(err);
    });
    child.on('exit', (code, signal) => {
      this.child = null;
      this.exitCode = code ?? (signal ? signalExitCode(signal) : undefined);
      this.setState(this.stopping ? 'stopped' : 'exited');
      if (!this.stopping) this.opts.onExit?.(this.exitCode ?? 1);
    });
  }

  /**
   * Stops the command's whole process group (SIGTERM, then SIGKILL after a grace
   * period). Returns the group id, if any, so a shutting-down agent can SIGKILL it
   * before exiting (the grace timer does not keep the process alive).
   */
  stop(): number | undefined {
    this.stopping = true;
    const pid = this.child?.pid;
    if (pid !== undefined) stopGroup(pid);
    return pid;
  }

  /** Newest output, oldest byte first. */
  output(lastBytes?: number): Buffer {
    return this.ring.snapshot(lastBytes);
  }

  status(): BootServiceStatus | null {
    const cmd = this.opts.cmd;
    if (!cmd || cmd.length === 0) return null;
    const s: BootServiceStatus = {
      subsystem: 'cmd',
      state: this.state,
      supervisor_pid: process.pid,
      attempts: this.attempts,
      updated_at: this.updatedAt,
      command: cmd,
    };
    if (this.child?.pid !== undefined) s.pid = this.child.pid;
    if (this.exitCode !== undefined) s.exit_code = this.exitCode;
    if (this.error) s.error = this.error;
    return s;
  }

  private fail(err: unknown): void {
    this.child = null;
    this.error = err instanceof UserLookupError ? err.message : spawnFailureText(err, this.opts.cmd?.[0] ?? '');
    this.setState('failed');
    if (!this.stopping) this.opts.onExit?.(127);
  }

  private setState(state: SupervisedState): void {
    this.state = state;
    this.updatedAt = isoNow();
  }
}
