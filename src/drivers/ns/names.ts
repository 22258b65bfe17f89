/**
 * Names of the host objects a namespace sandbox owns. They are derived only from the
 * driver's instanceId and the sandbox's shortId, so residue can be found and removed
 * without the stored record.
 */
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/**
 * cgroup v1 controllers every sandbox gets. `devices` is defence in depth: only the
 * pseudo devices bwrap's --dev provides may be opened, even if a node is created somehow.
 */
export const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'devices'] as const;
export type Controller = (typeof CONTROLLERS)[number];

const INSTANCE_RE = /^[0-9a-f]{4}$/;
const SHORT_RE = /^[0-9a-f]{8}$/;

export function assertInstanceId(id: string): void {
  if (!INSTANCE_RE.test(id)) throw new Error(`instanceId must be 4 lowercase hex chars, got ${JSON.stringify(id)}`);
}

export function assertShortId(id: string): void {
  if (!SHORT_RE.test(id)) throw new Error(`shortId must be 8 lowercase hex chars, got ${JSON.stringify(id)}`);
}

export function isShortId(id: string): boolean {
  return SHORT_RE.test(id);
}

export class SandboxNames {
  constructor(readonly instanceId: string) {
    assertInstanceId(instanceId);
  }

  /** Parent cgroup of every sandbox of this instance, per controller. */
  cgroupParent(c: Controller): string {
    return join(CGROUP_ROOT, c, `warren-${this.instanceId}`);
  }

  cgroupDir(c: Controller, shortId: string): string {
    return join(this.cgroupParent(c), shortId);
  }

  /** What /proc/<pid>/cgroup shows for a member of the sandbox (freezer line). */
  cgroupMarker(shortId: string): string {
    return `:freezer:/warren-${this.instanceId}/${shortId}\n`;
  }

  netns(shortId: string): string {
    return `warren-${this.instanceId}-${shortId}`;
  }

  /** shortId encoded in a netns name of this instance, or undefined. */
  shortIdOfNetns(name: string): string | undefined {
    const prefix = `warren-${this.instanceId}-`;
    if (!name.startsWith(prefix)) return undefined;
    const id = name.slice(prefix.length);
    return isShortId(id) ? id : undefined;
  }

  hostVeth(shortId: string): string {
    return `wv${shortId}`;
  }

  /** Source name of the overlay mount (visible in /proc/self/mountinfo). */
  overlaySource(shortId: string): string {
    return `warren-${this.instanceId}-${shortId}`;
  }
}

/** Files under spec.stateDir. */
export function statePaths(stateDir: string) {
  return {
    disk: join(stateDir, 'disk.img'),
    upperFs: join(stateDir, 'upper-fs'),
    rootfs: join(stateDir, 'rootfs'),
    pid: join(stateDir, 'sandbox.pid'),
    bwrapPid: join(stateDir, 'bwrap.pid'),
    info: join(stateDir, 'bwrap-info.json'),
    /** bwrap's --json-status-fd output: child pid, then the exit code when the sandbox ends. */
    status: join(stateDir, 'bwrap-status.json'),
    seccomp: join(stateDir, 'seccomp.bpf'),
    args: join(stateDir, 'bwrap.args'),
    /** Tail of the sandbox's stdout/stderr, saved by stop. */
    log: join(stateDir, 'sandbox.log'),
    /** stdout/stderr while running: on the loop fs, outside the overlay upper. */
    liveLog: join(stateDir, 'upper-fs', 'sandbox.log'),
    /**
     * The agent's log files (cmd and workloads), bound writable at /.warren/logs: on the
     * layer's filesystem (so under its disk quota) but outside the overlay the user sees.
     */
    agentLogs: join(stateDir, 'upper-fs', 'logs'),
    oomBaseline: join(stateDir, 'oom-baseline'),
    marker: join(stateDir, 'sandbox.json'),
    /** The hostname the sandbox's UTS namespace has now (written at launch and by adopt). */
    hostname: join(stateDir, 'hostname'),
    /** Written by the last step of create: everything create makes exists. */
    created: join(stateDir, 'created'),
  };
}
