/**
 * The agent's bounded set of exec tasks (runtime.md §5, §12):
 * - at most `maxRunning` (50) tasks run at once (429 beyond);
 * - finished tasks expire after their TTL (default 300 s, -1 = never);
 * - at most `maxTasks` are tracked; the oldest finished ones are evicted first;
 * - output retained by finished tasks is capped in total (`retainedOutputBytes`):
 *   beyond it the oldest finished tasks lose their logs (`logs_dropped: true`),
 *   except that `keep_logs` tasks are dropped last.
 */
import { AppError } from '../../contract/errors.js';
import { ExecTask, type TaskOptions } from './task.js';

export const DEFAULT_TTL_SECONDS = 300;

export interface TaskStoreLimits {
  maxRunning: number;
  maxTasks: number;
  retainedOutputBytes: number;
}

const DEFAULT_LIMITS: TaskStoreLimits = {
  maxRunning: 50,
  maxTasks: 500,
  retainedOutputBytes: 64 * 1024 * 1024,
};

export class TaskStore {
  /** Insertion-ordered: iteration goes oldest first. */
  private readonly tasks = new Map<string, ExecTask>();
  private readonly limits: TaskStoreLimits;
  private readonly sweeper: NodeJS.Timeout;

  constructor(limits: Partial<TaskStoreLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  runningCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.running) n++;
    return n;
  }

  /** Creates and starts a task; 429 when too many are running. */
  start(opts: TaskOptions): ExecTask {
    this.sweep();
    if (this.runningCount() >= this.limits.maxRunning) {
      throw new AppError('rate_limited', `Too many concurrent tasks (max ${this.limits.maxRunning})`, {
        limit: this.limits.maxRunning,
      });
    }
    const task = new ExecTask(opts);
    this.tasks.set(task.id, task);
    task.once('exit', () => this.sweep());
    task.start();
    return task;
  }

  get(id: string): ExecTask | undefined {
    this.sweep();
    return this.tasks.get(id);
  }

  list(): ExecTask[] {
    this.sweep();
    return [...this.tasks.values()];
  }

  /** Kills (if running) and forgets one task; false if unknown. */
  delete(id: string): boolean {
    const task = this.tasks.get(id);
    if (!task) return false;
    task.kill();
    this.tasks.delete(id);
    return true;
  }

  /** Kills and forgets every task; returns how many were tracked. */
  deleteAll(): number {
    const n = this.tasks.size;
    for (const task of this.tasks.values()) task.kill();
    this.tasks.clear();
    return n;
  }

  /**
   * Agent shutdown: stops the sweeper, SIGTERMs every running task's group and
   * forgets all tasks. Returns the group ids so the caller can SIGKILL stragglers.
   */
  close(): number[] {
    clearInterval(this.sweeper);
    const pids: number[] = [];
    for (const t of this.tasks.values()) if (t.running && t.pid !== undefined) pids.push(t.pid);
    this.deleteAll();
    return pids;
  }

  /** Applies TTL expiry, the task-count bound and the retained-output budget. */
  sweep(now = Date.now()): void {
    for (const [id, t] of this.tasks) {
      const ttl = t.opts.ttlSeconds;
      if (!t.running && ttl >= 0 && t.exitedAtMs !== undefined && now - t.exitedAtMs >= ttl * 1000) {
        this.tasks.delete(id);
      }
    }
    for (const [id, t] of this.tasks) {
      if (this.tasks.size <= this.limits.maxTasks) break;
      if (!t.running) this.tasks.delete(id);
    }
    this.enforceOutputBudget();
  }

  private enforceOutputBudget(): void {
    let retained = 0;
    const finished: ExecTask[] = [];
    for (const t of this.tasks.values()) {
      if (t.running || t.logsDropped) continue;
      retained += t.stdout.bytes + t.stderr.bytes;
      finished.push(t);
    }
    if (retained <= this.limits.retainedOutputBytes) return;
    // Oldest first, keep_logs tasks last.
    const order = [...finished.filter((t) => !t.opts.keepLogs), ...finished.filter((t) => t.opts.keepLogs)];
    for (const t of order) {
      if (retained <= this.limits.retainedOutputBytes) break;
      retained -= t.stdout.bytes + t.stderr.bytes;
      t.stdout.drop();
      t.stderr.drop();
      t.logsDropped = true;
    }
  }
}
