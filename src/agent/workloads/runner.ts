/**
 * One workload: its process (own session and process group, in its own cgroups when
 * available), its output into its log, and its restart policy.
 *   never       an exit is final (status `exited` for 0, else `failed`)
 *   on-failure  restart when the code is not 0 (a signal, 128+n, is a failure)
 *   always      restart on any exit
 * Both restarting policies stop after `max_restarts` restarts (0 = no limit). A command
 * that cannot be started counts as exit 127 and follows the same policy. A stop asked
 * through the API is never followed by a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { defaultCwd, isoNow, signalExitCode, signalGroup, stopGroup, workspaceEnv } from '../process.js';
import { readOutput, type EntryLog } from '../logs/entry-log.js';
import type { CgroupUsage, WorkloadCgroups } from './cgroup.js';
import { needsRestart, type VmOnExit, type WorkloadSpec, type WorkloadState, type WorkloadStatus } from './spec.js';
import { procUsage } from './stats.js';

/** SIGTERM, then SIGKILL to the group after this long. */
export const STOP_GRACE_MS = 5000;
const MAX_BACKOFF_MS = 60_000;
/** A run this long resets the backoff. */
const BACKOFF_RESET_MS = 10_000;
/** Floor of every restart delay: a crash loop with delay 0 would otherwise spin the agent. */
const MIN_RESTART_DELAY_MS = 100;
/** After the leader exits, how long to wait for its output pipes to drain before acting. */
const OUTPUT_DRAIN_MS = 250;
const MiB = 1024 * 1024;

export type WorkloadEventBody =
  | { type: 'workload_exit'; workload_id: string; exit_code: number; vm_on_exit: VmOnExit; final: boolean }
  | { type: 'workload_status'; workload_id: string; status: WorkloadState };

export interface RunnerDeps {
  /** The workspace env from config.json, read at each spawn. */
  configEnv: () => Record<string, string>;
  cgroups: WorkloadCgroups;
  emit: (e: WorkloadEventBody) => void;
}

export class Workload {
  private child: ChildProcess | null = null;
  private state: WorkloadState = 'pending';
  private restarts = 0;
  /** Restarts since the last run of BACKOFF_RESET_MS or more. */
  private consecutive = 0;
  private exitCode: number | undefined;
  private error: string | undefined;
  private startedAt: string | undefined;
  private finishedAt: string | undefined;
  private updatedAt = isoNow();
  private runStartedMs = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The current process is being stopped on purpose (API stop, replace, delete). */
  private stopRequested = false;
  /** Start a new process as soon as the current one is gone (PUT changed it, or start during a stop). */
  private respawnAfterExit = false;
  private deleted = false;
  private inCgroup = false;
  private exitWaiters: Array<() => void> = [];

  constructor(private specValue: WorkloadSpec, readonly log: EntryLog, private readonly deps: RunnerDeps) {}

  get spec(): WorkloadSpec {
    return this.specValue;
  }

  /** Starts now (the restart count starts over); no-op while it runs. */
  start(): void {
    if (this.deleted) return;
    if (this.child) {
      if (this.stopRequested) this.respawnAfterExit = true;
      return;
    }
    this.clearTimer();
    this.restarts = 0;
    this.consecutive = 0;
    this.spawnProcess();
  }

  /** Stops the process group (SIGTERM, SIGKILL after 5 s) and resolves once it is gone. */
  async stop(): Promise<void> {
    this.clearTimer();
    this.respawnAfterExit = false;
    if (!this.child) {
      if (this.state === 'restarting' || this.state === 'pending') this.setState('stopped');
      return;
    }
    this.stopRequested = true;
    const gone = this.waitExit(STOP_GRACE_MS + 2000);
    // No pid yet: the spawn is failing and its error event ends the run.
    const pid = this.child.pid;
    if (pid !== undefined) stopGroup(pid, STOP_GRACE_MS);
    await gone;
  }

  /** Replaces the spec; the process is restarted only when cmd, env or working_dir changed. */
  update(spec: WorkloadSpec): void {
    const restart = this.child !== null && needsRestart(this.specValue, spec);
    this.specValue = spec;
    this.log.setCap(spec.max_log_size_mb * MiB);
    this.log.setPlainPath(spec.log_path);
    const pid = this.child?.pid;
    if (!restart || pid === undefined) return;
    this.stopRequested = true;
    this.respawnAfterExit = true;
    this.setState('restarting');
    stopGroup(pid, STOP_GRACE_MS);
  }

  /** Stops for good (delete); nothing restarts it afterwards. */
  async destroy(): Promise<void> {
    this.deleted = true;
    await this.stop();
  }

  /** Agent shutdown: SIGTERM now; returns the group for the final SIGKILL. */
  shutdown(): number | undefined {
    this.deleted = true;
    this.clearTimer();
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    this.stopRequested = true;
    signalGroup(pid, 'SIGTERM');
    return pid;
  }

  status(): WorkloadStatus {
    const s: WorkloadStatus = {
      id: this.specValue.id,
      name: this.specValue.name,
      status: this.state,
      restarts: this.restarts,
      updated_at: this.updatedAt,
    };
    if (this.child?.pid !== undefined) s.pid = this.child.pid;
    if (this.exitCode !== undefined) s.exit_code = this.exitCode;
    if (this.error) s.error = this.error;
    if (this.startedAt) s.started_at = this.startedAt;
    if (this.finishedAt) s.finished_at = this.finishedAt;
    return s;
  }

  /** Cumulative counters: the workload's cgroups, else its processes in /proc. */
  usage(): CgroupUsage {
    if (this.inCgroup) {
      const u = this.deps.cgroups.usage(this.specValue.id);
      if (u) return u;
    }
    return procUsage(this.child?.pid);
  }

  private spawnProcess(): void {
    this.stopRequested = false;
    this.respawnAfterExit = false;
    this.exitCode = undefined;
    this.error = undefined;
    const { id, cmd, env } = this.specValue;
    const prog = cmd[0] as string;
    const cwd = this.specValue.working_dir ?? defaultCwd();
    this.startedAt = isoNow();
    this.runStartedMs = Date.now();
    if (!isDirectory(cwd)) return this.spawnFailed(`working directory not found: ${short(cwd)}`);
    this.setState('starting');
    let child: ChildProcess;
    try {
      const r = this.deps.cgroups.spawnIn(id, () => spawn(prog, cmd.slice(1), {
        cwd,
        env: workspaceEnv(this.deps.configEnv(), env),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      }));
      child = r.value;
      this.inCgroup = r.inCgroup;
    } catch (err) {
      return this.spawnFailed(spawnError(err, prog));
    }
    this.child = child;
    readOutput(child, (stream, c) => this.log.write(stream, c));
    child.on('spawn', () => {
      if (this.child === child && this.state === 'starting') this.setState('running');
    });
    child.on('error', (err) => {
      if (child.pid === undefined && this.child === child) this.spawnFailed(spawnError(err, prog));
    });
    child.on('exit', (code, signal) => {
      const status = code ?? (signal ? signalExitCode(signal) : 1);
      // Let the pipes drain so the last lines are logged before the status says it ended;
      // a background child holding them open must not delay the exit for long.
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (this.child === child) this.onExit(status);
      };
      child.once('close', finish);
      setTimeout(finish, OUTPUT_DRAIN_MS).unref();
    });
  }

  private spawnFailed(message: string): void {
    this.log.write('stderr', Buffer.from(`warren: ${message}\n`));
    this.error = message;
    this.onExit(127);
  }

  private onExit(code: number): void {
    this.child = null;
    this.exitCode = code;
    this.finishedAt = isoNow();
    this.log.endOfOutput();
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    if (this.deleted) return this.setState('stopped');
    if (this.respawnAfterExit) return this.spawnProcess();
    if (this.stopRequested) return this.setState('stopped');
    this.applyPolicy(code);
  }

  private applyPolicy(code: number): void {
    const { restart_policy: policy, max_restarts: max } = this.specValue;
    const failed = code !== 0;
    const wanted = policy === 'always' || (policy === 'on-failure' && failed);
    const final = !wanted || (max > 0 && this.restarts >= max);
    this.deps.emit({
      type: 'workload_exit', workload_id: this.specValue.id, exit_code: code, vm_on_exit: this.specValue.vm_on_exit, final,
    });
    if (final) return this.setState(failed ? 'failed' : 'exited');
    if (Date.now() - this.runStartedMs >= BACKOFF_RESET_MS) this.consecutive = 0;
    const delay = this.restartDelay();
    this.consecutive += 1;
    this.setState('restarting');
    this.timer = setTimeout(() => {
      this.timer = null;
      this.restarts += 1;
      this.spawnProcess();
    }, delay);
  }

  private restartDelay(): number {
    const base = Math.max(MIN_RESTART_DELAY_MS, this.specValue.restart_delay_ms);
    if (!this.specValue.restart_backoff) return base;
    return Math.min(base * 2 ** Math.min(this.consecutive, 30), Math.max(base, MAX_BACKOFF_MS));
  }

  private waitExit(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private clearTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private setState(state: WorkloadState): void {
    this.updatedAt = isoNow();
    if (state === this.state) return;
    this.state = state;
    this.deps.emit({ type: 'workload_status', workload_id: this.specValue.id, status: state });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A short error without host paths: the program name is the workload's own. */
function spawnError(err: unknown, prog: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `command not found: ${short(prog)}`;
  if (code === 'EACCES') return `permission denied: ${short(prog)}`;
  return `could not start ${short(prog)}: ${code ?? 'error'}`;
}

function short(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
