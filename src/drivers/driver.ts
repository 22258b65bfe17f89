/**
 * The contract between the domain and every isolation backend (namespace sandbox,
 * micro-VM, …). The domain owns *what* a workspace is; a driver owns *how* it is
 * made real on this host. Every method is idempotent: the reconciler may call it
 * again after a crash at any point, and it must converge rather than fail.
 *
 * A driver never decides lifecycle legality (that is the domain's transition table)
 * and never talks HTTP. Optional abilities are sub-interfaces checked at run time.
 */

import type { Readable } from 'node:stream';

/** A snapshot of a writable layer, held by the driver: the owner's shortId and the snapshot's id. */
export interface LayerRef {
  shortId: string;
  snapshotId: string;
}

/** Everything a driver needs to realise one workspace. Derived from the stored record. */
export interface SandboxSpec {
  /** Public workspace id (`ws_…`). */
  id: string;
  /** 8 lowercase hex chars, unique on this host; used to name kernel objects (IFNAMSIZ is 15). */
  shortId: string;
  hostname: string;
  image: {
    id: string;
    /** Host directories of the image's read-only layers, base first (overlayfs lower layers). Never copied. */
    layers: string[];
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
  /** Working directory and user of the startup command (the image's WorkingDir and User). */
  workdir?: string;
  user?: string;
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
    /**
     * Host directory of the agent's runtime bundle (Node, rg, tar, gzip, the pty addon and
     * every library they load; src/storage/runtime-bundle.ts), mounted read-only at
     * /.warren/runtime: the agent runs on it whatever the image holds.
     */
    runtimeDir: string;
    /** Host directory with per-workspace control files (token, config), mounted read-only. */
    controlDir: string;
    /** Host directory of the sshd bundle, mounted read-only at /.warren/ssh when it exists. */
    sshBundleDir?: string;
  };
  /** Host directory the driver owns for this workspace (layers, pid files, logs). */
  stateDir: string;
  /**
   * When the sandbox has no writable layer yet, it starts from a copy-on-write clone of
   * this snapshot instead of an empty layer (fork). Ignored once a layer exists.
   */
  seed?: LayerRef;
}

export type SandboxState = 'running' | 'paused' | 'stopped' | 'absent';

export interface SandboxStatus {
  state: SandboxState;
  /** Host PID of the sandbox's init process when running or paused. */
  pid?: number;
  /** Why a previously running sandbox is gone, when known (e.g. 'exited', 'oom'). */
  reason?: string;
  /** Exit status of the sandbox's main process when it ended by itself (128+n for signal n). */
  exitCode?: number;
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
  /**
   * Whether sandboxes are isolated from each other and from the host (their own
   * filesystem, processes, hostname, limits enforced by the kernel). A driver that does
   * not (the in-memory test driver) may never serve real workspaces.
   */
  isolation: boolean;
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
  /**
   * Changes CPU / memory / pids limits of a live sandbox, and grows its writable layer to
   * `diskMb` (online when live; a smaller `diskMb` than the layer is left as is).
   */
  updateResources(spec: SandboxSpec): Promise<void>;
  /**
   * Calls `onExit` once when the running sandbox ends by itself (not by stop/destroy);
   * returns the function that stops watching. Optional: without it the domain polls.
   */
  watchExit?(spec: SandboxSpec, onExit: () => void): () => void;
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

/** What this driver's snapshots hold and cost. */
export interface SnapshotCapabilities {
  /** A snapshot holds the whole writable filesystem. */
  filesystem: true;
  /** Whether process memory is captured too. */
  memory: boolean;
  /** Why memory is not captured (shown to clients), or null. */
  memoryUnavailableReason: string | null;
  /** Snapshots, restores and forks are reflink clones (milliseconds) rather than streamed copies. */
  copyOnWrite: boolean;
}

export interface SnapshotResult {
  /** Bytes the snapshot's data occupies (shared with the live layer when copy-on-write). */
  bytes: number;
  copyOnWrite: boolean;
  /** How long the sandbox's processes and filesystem were frozen for the copy (0 when stopped). */
  frozenMs: number;
}

export interface ExportOptions {
  /** Absolute paths of the workspace's filesystem to include; absent: the whole writable layer. */
  paths?: string[];
  /** Absolute paths to leave out. */
  exclude?: string[];
}

export interface TarExport {
  /** An uncompressed tar stream. */
  stream: Readable;
  /** Settles when the export finished and its temporary mounts are gone; rejects if it failed. */
  done: Promise<void>;
}

/** A layer operation that failed for a reason the caller can act on (not a host fault). */
export class LayerError extends Error {
  constructor(
    readonly reason: 'path_missing' | 'no_space' | 'bad_archive',
    message: string,
    /** The workspace path concerned, when there is one. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'LayerError';
  }
}

/** `layer`: the stream is a whole writable layer and replaces it; `files`: extracted over the current files. */
export type ImportKind = 'layer' | 'files';

export interface LayerEntry {
  /** Absolute path inside the workspace. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'deleted' | 'other';
  size: number;
}

/**
 * The writable layer as an object: snapshots (point-in-time copies), restore, fork
 * seeds, tar export/import for archives. Every operation is atomic on disk: a crash
 * leaves the old layer or the new one, never a mix.
 */
export interface SnapshotDriver extends Driver {
  readonly snapshots: SnapshotCapabilities;
  /**
   * Captures the writable layer at one instant: a live sandbox's processes and filesystem
   * are frozen for the copy. `keepFrozen` leaves a live sandbox's processes frozen after.
   */
  snapshot(spec: SandboxSpec, snapshotId: string, opts?: { keepFrozen?: boolean }): Promise<SnapshotResult>;
  /** Replaces the writable layer with the snapshot's. The sandbox must be stopped. */
  restore(spec: SandboxSpec, from: LayerRef): Promise<void>;
  /** Idempotent. */
  deleteSnapshot(ref: LayerRef): Promise<void>;
  /** Every complete snapshot on the host (interrupted copies are swept by `prepare`). */
  listSnapshots(): Promise<LayerRef[]>;
  /** A tar of the snapshot: its whole writable layer, or with `paths` those paths of the workspace's filesystem. */
  exportTar(spec: SandboxSpec, from: LayerRef, opts: ExportOptions): Promise<TarExport>;
  /** Rebuilds the writable layer from a tar stream. The sandbox must be stopped. */
  importTar(spec: SandboxSpec, input: Readable, kind: ImportKind): Promise<void>;
  /** Entries of the writable layer (what differs from the image), at most `limit`. */
  listChanges(spec: SandboxSpec, limit: number): Promise<{ entries: LayerEntry[]; truncated: boolean }>;
  /** Flushes the writable layer of a live sandbox to its image file. */
  syncLayer(spec: SandboxSpec): Promise<void>;
  /** Undoes what an interrupted snapshot may have left on a live sandbox (a frozen filesystem). */
  recover(spec: SandboxSpec): Promise<void>;
}

/**
 * A driver whose running sandboxes can be made ahead of demand (the warm pool) and then
 * handed to a workspace: `adopt` gives a running sandbox, whose state directory the caller
 * has already moved to `spec.stateDir`, the identity of `spec` — its limits, disk quota,
 * hostname and ownership marker — without restarting anything. Idempotent.
 */
export interface AdoptingDriver extends Driver {
  adopt(spec: SandboxSpec): Promise<void>;
}

export function canAdopt(d: Driver): d is AdoptingDriver {
  return typeof (d as AdoptingDriver).adopt === 'function';
}

export function canPause(d: Driver): d is PausableDriver {
  return d.capabilities.pause && typeof (d as PausableDriver).pause === 'function';
}

export function canSnapshot(d: Driver): d is SnapshotDriver {
  return d.capabilities.snapshot && typeof (d as SnapshotDriver).snapshot === 'function';
}
