/**
 * cgroup v1 groups of one sandbox: `<controller>/warren-<instanceId>/<shortId>` for
 * memory, cpu, cpuacct, pids, freezer and devices. Limits are plain file writes, so
 * they can be changed while the sandbox runs.
 */
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROLLERS, type Controller, type SandboxNames } from './names.js';

export interface CgroupLimits {
  cpus: number;
  memoryMb: number;
  pids: number;
}

const MiB = 1024 * 1024;

/**
 * Controllers whose `workloads/` subdirectory the sandbox may write (src/drivers/ns/bwrap-args.ts):
 * the agent makes one child group per workload there. No delegation of freezer or devices.
 */
export const DELEGATED_CONTROLLERS: readonly Controller[] = ['memory', 'cpu', 'cpuacct', 'pids'];
export const DELEGATED_SUBDIR = 'workloads';
const CFS_PERIOD_US = 100_000;

/**
 * Devices a sandbox may open: exactly what `bwrap --dev` binds (null, zero, full,
 * random, urandom, tty, ptmx) plus its own devpts ptys.
 */
const DEVICE_ALLOW = ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm',
  'c 5:2 rwm', 'c 136:* rwm'];

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNumber(path: string): Promise<number> {
  const text = await readText(path);
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(n) ? n : 0;
}

/** A kernel pseudo-file's number, read synchronously (see `usage`); 0 when absent. */
export function readNumberNow(path: string): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class SandboxCgroups {
  constructor(private readonly names: SandboxNames, readonly shortId: string) {}

  dir(c: Controller): string {
    return this.names.cgroupDir(c, this.shortId);
  }

  private file(c: Controller, name: string): string {
    return join(this.dir(c), name);
  }

  /** `cgroup.procs` of every controller, for the launcher to join before exec. */
  procsFiles(): string[] {
    return CONTROLLERS.map((c) => this.file(c, 'cgroup.procs'));
  }

  exists(): boolean {
    return CONTROLLERS.some((c) => existsSync(this.dir(c)));
  }

  /** Every controller's group exists. */
  complete(): boolean {
    return CONTROLLERS.every((c) => existsSync(this.dir(c)));
  }

  /** Creates every group (idempotent) and applies the limits. */
  async ensure(limits: CgroupLimits): Promise<void> {
    for (const c of CONTROLLERS) {
      // A concurrent destroy may rmdir the shared parent between the two mkdirs: retry once.
      await mkdir(this.dir(c), { recursive: true }).catch(() => mkdir(this.dir(c), { recursive: true }));
    }
    await this.ensureDelegated();
    await this.restrictDevices();
    await this.setLimits(limits);
  }

  /** The writable `workloads/` subdirectory of each delegated controller (sandboxes made before it existed lack it). */
  async ensureDelegated(): Promise<void> {
    for (const c of DELEGATED_CONTROLLERS) await mkdir(join(this.dir(c), DELEGATED_SUBDIR), { recursive: true });
  }

  private async restrictDevices(): Promise<void> {
    const list = (await readText(this.file('devices', 'devices.list')))?.trim();
    if (list !== 'a *:* rwm') return; // already restricted
    await writeFile(this.file('devices', 'devices.deny'), 'a');
    for (const rule of DEVICE_ALLOW) await writeFile(this.file('devices', 'devices.allow'), rule);
  }

  async setLimits(limits: CgroupLimits): Promise<void> {
    await this.setMemory(limits.memoryMb * MiB);
    const quota = limits.cpus > 0 ? Math.max(1000, Math.round(limits.cpus * CFS_PERIOD_US)) : -1;
    await writeFile(this.file('cpu', 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    await writeFile(this.file('cpu', 'cpu.cfs_quota_us'), String(quota));
    await writeFile(this.file('pids', 'pids.max'), limits.pids > 0 ? String(limits.pids) : 'max');
  }

  /**
   * memory.limit_in_bytes must stay ≤ memsw.limit_in_bytes at every moment, so the
   * order of the two writes depends on whether the limit grows or shrinks.
   */
  private async setMemory(bytes: number): Promise<void> {
    const limit = this.file('memory', 'memory.limit_in_bytes');
    const memsw = this.file('memory', 'memory.memsw.limit_in_bytes');
    if (!existsSync(memsw)) return writeFile(limit, String(bytes));
    const current = await readNumber(limit);
    const order = bytes > current ? [memsw, limit] : [limit, memsw];
    for (const f of order) {
      try {
        await writeFile(f, String(bytes));
      } catch (err) {
        if (errCode(err) === 'EBUSY') throw new Error(`memory limit ${bytes} bytes is below current usage`);
        throw err;
      }
    }
  }

  /** PIDs (thread-group leaders) currently in the sandbox. */
  async pids(): Promise<number[]> {
    const text = await readText(this.file('freezer', 'cgroup.procs'));
    if (!text) return [];
    return text.split('\n').filter(Boolean).map(Number).filter((n) => n > 0);
  }

  async freezerState(): Promise<string | undefined> {
    return (await readText(this.file('freezer', 'freezer.state')))?.trim();
  }

  /** Writes FROZEN / THAWED and waits until the kernel reports it (bounded). */
  async setFrozen(frozen: boolean, timeoutMs = 5000): Promise<void> {
    const want = frozen ? 'FROZEN' : 'THAWED';
    const file = this.file('freezer', 'freezer.state');
    const deadline = Date.now() + timeoutMs;
    await writeFile(file, want);
    while ((await this.freezerState()) !== want) {
      if (Date.now() > deadline) {
        if (frozen) await writeFile(file, 'THAWED').catch(() => undefined);
        throw new Error(`freezer did not reach ${want} within ${timeoutMs} ms`);
      }
      await sleep(1); // sleeping tasks freeze at once; busy ones within a scheduler tick
      await writeFile(file, want); // a FREEZING attempt may need a nudge
    }
  }

  /** SIGKILLs every process until the group is empty. Thaws first: frozen tasks can't die. */
  async killAll(timeoutMs = 10_000): Promise<void> {
    if (!existsSync(this.dir('freezer'))) return;
    const state = await this.freezerState();
    if (state && state !== 'THAWED') await this.setFrozen(false);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pids = await this.pids();
      if (pids.length === 0) return;
      if (Date.now() > deadline) throw new Error(`sandbox ${this.shortId}: processes survive SIGKILL: ${pids.join(' ')}`);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await sleep(5);
    }
  }

  /** Removes every (empty) group; the caller kills processes first. Absent groups are fine. */
  async remove(): Promise<void> {
    for (const c of CONTROLLERS) {
      await this.removeTree(this.dir(c));
      // The instance parent goes when the last sandbox goes; busy or gone is fine.
      await rmdir(this.names.cgroupParent(c)).catch(() => undefined);
    }
  }

  /**
   * rmdir children before parents: the sandbox may have made any tree under its delegated
   * subdirectory. Iterative (a hostile tree may be deep); cgroupfs directories hold only
   * control files, which rmdir ignores.
   */
  private async removeTree(root: string): Promise<void> {
    const order: string[] = [];
    const queue = [root];
    while (queue.length > 0) {
      const dir = queue.pop() as string;
      order.push(dir);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) queue.push(join(dir, e.name));
    }
    for (const dir of order.reverse()) await this.rmdirRetry(dir);
  }

  private async rmdirRetry(dir: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await rmdir(dir);
      } catch (err) {
        if (errCode(err) === 'ENOENT') return;
        if (errCode(err) !== 'EBUSY' || attempt >= 100) throw err;
        await sleep(10); // exiting tasks leave the group asynchronously
      }
    }
  }

  /** Kernel OOM-kill counter of the memory group (0 if unknown). */
  async oomKills(): Promise<number> {
    const text = await readText(this.file('memory', 'memory.oom_control'));
    const m = text?.match(/^oom_kill (\d+)$/m);
    return m ? Number(m[1]) : 0;
  }

  /**
   * Counters for the stats samplers. Kernel pseudo-files answer from memory without
   * blocking, so they are read synchronously: a promise round trip per tiny file cost
   * more CPU than the read (measured ≈ 110 µs each; 100 workspaces sampled every second).
   */
  usage(): Promise<{ cpuUsageNs: number; memoryBytes: number; memoryLimitBytes: number; pids: number }> {
    return Promise.resolve({
      cpuUsageNs: readNumberNow(this.file('cpuacct', 'cpuacct.usage')),
      memoryBytes: readNumberNow(this.file('memory', 'memory.usage_in_bytes')),
      memoryLimitBytes: readNumberNow(this.file('memory', 'memory.limit_in_bytes')),
      pids: readNumberNow(this.file('pids', 'pids.current')),
    });
  }
}
