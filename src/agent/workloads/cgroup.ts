/**
 * One cgroup (v1) per workload, so each is measured apart: `<root>/<c>/workloads/<wid>`
 * for c in memory, cpu, cpuacct, pids. `<root>` is `WARREN_CGROUP_ROOT` (default
 * /sys/fs/cgroup). The host shows the sandbox's own groups read-only and binds only
 * their `workloads/` subdirectory writable (src/drivers/ns/bwrap-args.ts); limits stay
 * hierarchical, so a workload never exceeds the workspace's.
 *
 * Starting a process inside its group with no race: node cannot fork from a helper
 * thread, but `child_process.spawn` forks synchronously from the main thread and the
 * child inherits that thread's groups. So the agent writes its main thread's id (=
 * process.pid) into the workload group's `tasks`, spawns, and moves the thread back.
 *
 * "Back" cannot be the sandbox's own group: its `tasks` is on the read-only bind. Checked
 * on this host (bwrap with --unshare-cgroup-try, --cap-drop ALL, the sandbox group
 * ro-bound with `workloads/` bound rw over it): writing the parent's `tasks` or mkdir in it
 * fails with EROFS, while writes anywhere under `workloads/` work, a process spawned
 * between the two writes is born in the workload group, and rmdir works once it is
 * empty. So at start the agent moves itself (all threads, `cgroup.procs`) into
 * `workloads/_agent` and always returns there. `_agent` cannot be a workload id (ids
 * start with a letter or digit). Everything else the agent starts (the workspace cmd,
 * exec tasks, terminals) is born in `_agent`, still under the workspace's limits.
 *
 * Without that tree (a host test, an old sandbox) or on any cgroup error, workloads run
 * without their own groups and stats come from /proc (src/agent/workloads/stats.ts);
 * cgroups never make a workload fail.
 */
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
export const WORKLOAD_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
type Controller = (typeof WORKLOAD_CONTROLLERS)[number];
const DELEGATED = 'workloads';
export const AGENT_GROUP = '_agent';

export interface CgroupUsage {
  cpu_usage_ns: number;
  memory_bytes: number;
  pids: number;
}

export type CgroupLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export class WorkloadCgroups {
  private active = false;

  constructor(readonly root: string, private readonly log: CgroupLog = () => undefined) {}

  get enabled(): boolean {
    return this.active;
  }

  /**
   * Moves the agent into `workloads/_agent` of every controller when the delegated tree
   * exists. Returns whether per-workload groups are in use.
   */
  init(): boolean {
    if (!WORKLOAD_CONTROLLERS.every((c) => isDir(this.delegated(c)))) return false;
    try {
      for (const c of WORKLOAD_CONTROLLERS) {
        const home = join(this.delegated(c), AGENT_GROUP);
        mkdirQuiet(home);
        writeFileSync(join(home, 'cgroup.procs'), String(process.pid));
      }
    } catch (err) {
      this.log('warn', 'workload cgroups unavailable; stats come from /proc', { err: errCode(err) });
      return false;
    }
    this.active = true;
    return true;
  }

  /**
   * Calls `spawnFn` (which must fork synchronously) with the main thread in the
   * workload's groups, then moves the thread home. `inCgroup` tells whether the child
   * was born in them.
   */
  spawnIn<T>(wid: string, spawnFn: () => T): { value: T; inCgroup: boolean } {
    if (!this.active) return { value: spawnFn(), inCgroup: false };
    const moved: Controller[] = [];
    try {
      for (const c of WORKLOAD_CONTROLLERS) {
        const dir = this.dir(c, wid);
        mkdirQuiet(dir);
        writeFileSync(join(dir, 'tasks'), String(process.pid));
        moved.push(c);
      }
    } catch (err) {
      this.moveHome(moved);
      this.log('warn', 'workload cgroup not usable; running without it', { workload_id: wid, err: errCode(err) });
      return { value: spawnFn(), inCgroup: false };
    }
    try {
      return { value: spawnFn(), inCgroup: true };
    } finally {
      this.moveHome(moved);
    }
  }

  /** Cumulative counters of the workload's groups, or null when they are not readable. */
  usage(wid: string): CgroupUsage | null {
    const cpu = readNumber(join(this.dir('cpuacct', wid), 'cpuacct.usage'));
    const mem = readNumber(join(this.dir('memory', wid), 'memory.usage_in_bytes'));
    const pids = readNumber(join(this.dir('pids', wid), 'pids.current'));
    if (cpu === null || mem === null || pids === null) return null;
    // Like `docker stats`: page cache the kernel can drop at once is not the workload's memory.
    const inactive = statField(join(this.dir('memory', wid), 'memory.stat'), 'total_inactive_file') ?? 0;
    return { cpu_usage_ns: cpu, memory_bytes: Math.max(0, mem - inactive), pids };
  }

  /** Processes still in the workload's groups. */
  procs(wid: string): number[] {
    const seen = new Set<number>();
    for (const c of WORKLOAD_CONTROLLERS) {
      let text = '';
      try {
        text = readFileSync(join(this.dir(c, wid), 'cgroup.procs'), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) if (/^\d+$/.test(line)) seen.add(Number(line));
    }
    seen.delete(process.pid);
    return [...seen];
  }

  /** SIGKILLs whatever is left in the groups, then removes them (bounded wait; absent is fine). */
  async remove(wid: string, timeoutMs = 3000): Promise<void> {
    if (!this.active) return;
    const deadline = Date.now() + timeoutMs;
    for (let pids = this.procs(wid); pids.length > 0 && Date.now() < deadline; pids = this.procs(wid)) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(20);
    }
    for (const c of WORKLOAD_CONTROLLERS) {
      try {
        rmdirSync(this.dir(c, wid));
      } catch (err) {
        if (errCode(err) !== 'ENOENT') this.log('warn', 'could not remove a workload cgroup', { workload_id: wid, err: errCode(err) });
      }
    }
  }

  private moveHome(controllers: readonly Controller[]): void {
    for (const c of controllers) {
      try {
        writeFileSync(join(this.delegated(c), AGENT_GROUP, 'tasks'), String(process.pid));
      } catch (err) {
        this.log('error', 'agent could not return to its own cgroup', { controller: c, err: errCode(err) });
      }
    }
  }

  private delegated(c: Controller): string {
    return join(this.root, c, DELEGATED);
  }

  private dir(c: Controller, wid: string): string {
    return join(this.delegated(c), wid);
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function mkdirQuiet(path: string): void {
  try {
    mkdirSync(path);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
  }
}

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function statField(path: string, key: string): number | null {
  try {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}
