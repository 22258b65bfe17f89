/**
 * The contract between the domain and every isolation backend (namespace sandbox,
 * micro-VM, …). The domain owns *what* a workspace is; a driver owns *how* it is
 * made real on this host. Every method is idempotent: the reconciler may call it
 * again after a crash at any point, and it must converge rather than fail.
 *
 * A driver never decides lifecycle legality (that is the domain's transition table)
 * and never talks HTTP. Optional abilities are sub-interfaces checked at run time.
 */

/** Everything a driver needs to realise one workspace. Derived from the stored record. */
export interface SandboxSpec {
  /** Public workspace id (`ws_…`). */
  id: string;
  /** 8 lowercase hex chars, unique on this host; used to name kernel objects (IFNAMSIZ is 15). */
  shortId: string;
  hostname: string;
  image: {
    id: string;
    /** Host directory holding the read-only root filesystem of the image. Never copied. */
    rootfs: string;
  };
  resources: {
    cpus: number;
    memoryMb: number;
    /** Size cap of the per-workspace writable layer. */
    diskMb: number;
    /** Upper bound on processes and threads inside the workspace. */
    pids: number;
  };
  /** Environment of the workspace's processes (config.env). */
  env: Record<string, string>;
  /** Startup command (config.cmd); the agent supervises it. Absent: none. */
  cmd?: string[];
  network: {
    ip: string;
    prefixLen: number;
    gateway: string;
    /** Host bridge the workspace's interface is attached to. */
    bridge: string;
    /** Resolvers for the workspace's /etc/resolv.conf; absent or empty: the image's file stays. */
    dns?: string[];
  };
  agent: {
    /** TCP port of the runtime API inside the workspace (9990). */
    port: number;
    /** Host directory with the agent's code (`dist/agent`), mounted read-only. */
    bundleDir: string;
    /** Host Node binary that runs the agent, mounted read-only. */
    nodeBinary: string;
    /** Host directory with per-workspace control files (token, config), mounted read-only. */
    controlDir: string;
  };
  /** Host directory the driver owns for this workspace (layers, pid files, logs). */
  stateDir: string;
}

export type SandboxState = 'running' | 'paused' | 'stopped' | 'absent';

export interface SandboxStatus {
  state: SandboxState;
  /** Host PID of the sandbox's init process when running or paused. */
  pid?: number;
  /** Why a previously running sandbox is gone, when known (e.g. 'exited', 'oom'). */
  reason?: string;
}

export interface SandboxStats {
  cpuUsageNs: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  diskUsedBytes: number;
  diskLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

export interface DriverCapabilities {
  pause: boolean;
  snapshot: boolean;
}

export interface Driver {
  readonly name: string;
  readonly capabilities: DriverCapabilities;
  /** Checks host prerequisites once at start-up; throws a readable error if missing. */
  prepare(): Promise<void>;
  /** Allocates persistent resources (writable layer, network plumbing, cgroups). Idempotent. */
  create(spec: SandboxSpec): Promise<void>;
  /** Boots the sandbox and its agent; resolves once the processes are spawned. Idempotent. */
  start(spec: SandboxSpec): Promise<SandboxStatus>;
  /** Ends every process of the sandbox; keeps the writable layer. Idempotent. */
  stop(spec: SandboxSpec): Promise<void>;
  /** Removes everything `create` and `start` made. Idempotent; safe on a half-made sandbox. */
  destroy(spec: SandboxSpec): Promise<void>;
  /** What is really there now, read from the host, not from memory. */
  inspect(spec: SandboxSpec): Promise<SandboxStatus>;
  stats(spec: SandboxSpec): Promise<SandboxStats>;
  /** Changes CPU / memory / pids limits of a live sandbox where the backend can. */
  updateResources(spec: SandboxSpec): Promise<void>;
  /**
   * shortIds of every sandbox of this driver found on the host (processes, mounts,
   * namespaces, cgroups), so the reconciler can remove those no record owns.
   */
  listResidue(): Promise<string[]>;
  /** Removes residue left by a sandbox whose record is gone, knowing only its shortId. */
  destroyResidue(shortId: string): Promise<void>;
}

export interface PausableDriver extends Driver {
  pause(spec: SandboxSpec): Promise<void>;
  resume(spec: SandboxSpec): Promise<void>;
}

export interface SnapshotDriver extends Driver {
  /** Writes a copy of the writable layer to `dest` (a file path). */
  snapshot(spec: SandboxSpec, dest: string): Promise<{ bytes: number }>;
  restore(spec: SandboxSpec, src: string): Promise<void>;
}

export function canPause(d: Driver): d is PausableDriver {
  return d.capabilities.pause && typeof (d as PausableDriver).pause === 'function';
}

export function canSnapshot(d: Driver): d is SnapshotDriver {
  return d.capabilities.snapshot && typeof (d as SnapshotDriver).snapshot === 'function';
}
