/**
 * What the domain needs from the outside world, as narrow interfaces. The server
 * wires real implementations (src/drivers, src/network, src/images); unit tests of
 * pure logic may pass fakes.
 */
import type { Readable } from 'node:stream';
import type { Driver } from '../drivers/driver.js';
import type { ArchiveFormat } from '../contract/layers.js';
import type { WorkspaceRecord } from '../store/store.js';

export interface FirewallPort {
  register(sandbox: { ip: string; hostIf: string }): Promise<void>;
  unregister(sandbox: { ip: string; hostIf: string }): Promise<void>;
}

/** What an image asks of the workspaces made from it (OCI config; catalog images ask nothing). */
export interface ImageFacts {
  /** The name a workspace records: a catalog id, or the stored image's name or id as given. */
  name: string;
  /** The stored image (`sha256:…`); null for a catalog image not built yet. */
  imageId: string | null;
  /** `KEY=value` entries, under the workspace's own variables. */
  env: string[];
  /** Entrypoint + Cmd: the workspace's command when it sets none. */
  command: string[];
  workingDir?: string;
  user?: string;
}

export interface ImagesPort {
  /** What a name or ref given at create stands for; null when no image has it. */
  resolve(nameOrRef: string): Promise<ImageFacts | null>;
  /**
   * The image's read-only layer directories (base first) and facts: the pinned image
   * `imageId` when given, else the image `name` stands for now (a catalog image is built
   * first, once).
   */
  materialize(name: string, imageId: string | null): Promise<ImageFacts & { layers: string[] }>;
}

/** Resolves once the agent at ip:port answers /health, or throws after timeoutMs. */
export type AgentProbe = (ip: string, port: number, timeoutMs: number) => Promise<void>;

export interface NetworkLayout {
  bridge: string;
  subnet: string;
  prefixLen: number;
  gateway: string;
  /** Resolvers written to the workspace's /etc/resolv.conf; empty: the image's file stays. */
  dns?: string[];
}

export interface HostPaths {
  /** Holds one directory per workspace (control files, sandbox state); on the storage pool. */
  workspacesDir: string;
  /** Project root holding dist/, node_modules/ and package.json for the agent. */
  bundleDir: string;
  /** The agent's runtime bundle (src/storage/runtime-bundle.ts), bound read-only at /.warren/runtime. */
  runtimeDir: string;
  /** The sshd bundle (src/ssh/bundle.ts), bound read-only at /.warren/ssh when it exists. */
  sshBundleDir?: string;
}

/**
 * Archive files (src/storage/archive-files.ts): compressed, checksummed, written
 * atomically. `read` fails (at the latest at its end) when the file's sha256 is not the
 * recorded one; `checksum` is null for a missing file.
 */
export interface ArchiveFilesPort {
  write(workspaceId: string, file: string, format: ArchiveFormat, tar: Readable): Promise<{ bytes: number; sha256: string }>;
  checksum(workspaceId: string, file: string): Promise<string | null>;
  read(workspaceId: string, file: string, format: ArchiveFormat, sha256: string): Readable;
  remove(workspaceId: string, file: string): Promise<void>;
  removeAll(workspaceId: string): Promise<void>;
  /** Removes leftovers of interrupted writes; returns the complete files found. */
  sweep(): Promise<Array<{ workspaceId: string; file: string }>>;
}

/** Where a workspace's agent answers, and the directory holding its control token. */
export interface AgentTarget {
  ip: string;
  port: number;
  controlDir: string;
}

/**
 * The agent's internal API (`/_warren/*`: workloads and log files), reached with the
 * control token. Errors are AppErrors: `agent_unreachable`, or a relayed `workload_not_found`.
 */
export interface AgentControlPort {
  call<T>(target: AgentTarget, method: string, path: string, body?: unknown): Promise<T>;
  /** The JSON payloads of an SSE stream; ends when the agent closes it or `signal` aborts. */
  stream(target: AgentTarget, path: string, signal: AbortSignal): AsyncIterable<Record<string, unknown>>;
}

/** One line of the boot log: Warren's own provisioning steps for a workspace. */
export interface BootLogLine {
  timestamp: string;
  message: string;
  level: 'info' | 'error';
}

/**
 * The boot log of each workspace, kept by the host (src/storage/boot-log.ts): one file per
 * boot plus the previous one, bounded. `follow` replays then calls `onLine` for new lines
 * until the boot ends (`onEnd`), and returns the function that stops following.
 */
export interface BootLogPort {
  begin(workspaceId: string, keepPrevious: boolean): Promise<void>;
  step(workspaceId: string, message: string, level?: 'info' | 'error'): void;
  end(workspaceId: string): void;
  read(workspaceId: string, tail: number): Promise<BootLogLine[]>;
  files(workspaceId: string): Promise<Array<{ name: string; size: number; modified: string }>>;
  readFile(workspaceId: string, name: string): Promise<BootLogLine[] | null>;
  clear(workspaceId: string): Promise<void>;
  booting(workspaceId: string): boolean;
  follow(workspaceId: string, tail: number, onLine: (l: BootLogLine) => void, onEnd: () => void): Promise<() => void>;
}

/**
 * Files the domain writes by path (control files the agent reads, the admin credentials):
 * src/host/files.ts. Writes are atomic — a reader sees the old content or the new.
 */
export interface FilesPort {
  /** Puts `data` at `path` (mode `mode`) through a temp file and a rename; the directory must exist. */
  writeAtomic(path: string, data: string, mode: number): Promise<void>;
  /** The file's text; null when it does not exist. */
  readText(path: string): Promise<string | null>;
}

/** Directories of workspaces and warm-pool sandboxes on the storage pool (src/host/files.ts). */
export interface DirectoriesPort {
  /** Makes `path` and its parents; an existing directory is fine. */
  make(path: string, mode: number): Promise<void>;
  /** Renames `from` to `to` (same filesystem). */
  move(from: string, to: string): Promise<void>;
  /** Removes a file or a whole tree; nothing there is fine. */
  remove(path: string): Promise<void>;
  /** Names in a directory; [] when it does not exist. */
  list(path: string): Promise<string[]>;
}

/** What this host offers, read once at start (src/host/probe.ts): sizes the default quota pools. */
export interface HostFacts {
  memoryMb: number;
  cores: number;
  /** Size of the filesystem holding the data dir. */
  diskMb: number;
}

/** Whether an address is configured on one of the host's interfaces (src/network/upstream.ts). */
export type HostAddressProbe = (ip: string) => Promise<boolean>;

/**
 * Brings the kernel's firewall in line with the stored network policies (src/network/sync.ts);
 * resolves once a compile that began after the call is enforced.
 */
export interface PolicySyncPort {
  sync(): Promise<void>;
}

/** A free address of the workspace subnet outside `used` (`preferred` when free): src/network/addresses.ts. */
export type AddressAllocator = (used: ReadonlySet<string>, preferred?: string) => string;

export interface DomainDeps {
  driver: Driver;
  files: FilesPort;
  dirs: DirectoriesPort;
  archives: ArchiveFilesPort;
  firewall: FirewallPort;
  images: ImagesPort;
  probe: AgentProbe;
  network: NetworkLayout;
  paths: HostPaths;
  hostIfName: (shortId: string) => string;
  /** Warren's provisioning steps per workspace (the boot log); absent in some unit tests. */
  bootLog?: BootLogPort;
  /** Brings the firewall's policy sets in line with the store (after a registration). */
  syncNetwork?: () => Promise<void>;
  /** The agents' internal API (claiming a warm-pool sandbox); absent in some unit tests. */
  agentControl?: AgentControlPort;
  /**
   * The node id this host's workspaces carry (`WorkspaceRecord.nodeId`): null for a single host; the
   * instance id when servers share a PostgreSQL database, so that each acts only on its own sandboxes.
   */
  localNodeId?: string | null;
  /** Extra control files written before every boot (SSH's ssh.json: src/domain/ssh.ts). */
  bootFiles?: (rec: WorkspaceRecord, controlDir: string) => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Where a runtime request goes, decided by the domain from the caller's token
 * (src/domain/runtime-access.ts); the gateway forwards it there (src/gateway/types.ts).
 */
export interface RuntimeRoute {
  workspaceId: string;
  /** Agent address (the workspace's private IP). */
  host: string;
  port: number;
  /** Raw connection token the agent accepts; replaces the caller's token. */
  agentToken: string;
  /** The node relay to reach `host` through (the sandbox runs on another host); absent = connect directly. */
  via?: RelayVia;
}

/** A node's relay (src/node/relay-server.ts), as a replica reaches it. */
export interface RelayVia {
  relayHost: string;
  relayPort: number;
  /** The node the relay belongs to (bound into every tunnel token). */
  nodeId: string;
}

export const AGENT_PORT = 9990;
/** How long a freshly started agent may take to answer /health (a workspace's boot, a warm-pool refill). */
export const AGENT_READY_TIMEOUT_MS = 30_000;
/** Processes and threads a workspace may have at once. */
export const DEFAULT_PIDS_LIMIT = 1024;

/** One signing key of the scoped control-plane JWTs (POST /tokens). */
export interface SigningKey {
  kid: string;
  /** 32 random bytes, base64url. */
  key: string;
  createdAt: string;
  /** Set when a newer key took over; the key still verifies tokens until `retiredAt` + the longest TTL. */
  retiredAt: string | null;
}

/**
 * Where the signing keys live between starts: a 0600 file in the data dir on a single host
 * (src/storage/key-ring.ts), the store's settings with PostgreSQL, shared by every replica
 * (src/storage/shared-secrets.ts).
 */
export interface KeyRingPort {
  load(): Promise<SigningKey[] | null>;
  save(keys: SigningKey[]): Promise<void>;
  /** Stores `keys` unless a ring is stored already; returns the stored ring (of racing creators, the first's). */
  create(keys: SigningKey[]): Promise<SigningKey[]>;
}

/**
 * Coordination between the instances that serve one store (issue 16). Single host: all
 * in-process (src/coordination/local.ts). Over PostgreSQL: leases, advisory locks and
 * LISTEN/NOTIFY shared by every replica (src/coordination/postgres.ts). The domain sees
 * only this port.
 */
export interface CoordinationPort {
  /** This instance's id among the replicas (diagnostics, lease owner). */
  readonly instanceId: string;
  /**
   * Runs `fn` as the one operation on workspace `id`: never two at once on one workspace,
   * across all replicas; different workspaces proceed in parallel. Waits as long as the
   * operations ahead take.
   */
  run<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** `run`, but gives up after waiting `maxWaitMs` and throws what `onBusy` makes (`fn` never runs). */
  runWithin<T>(id: string, maxWaitMs: number, onBusy: () => Error, fn: () => Promise<T>): Promise<T>;
  /** The reservation critical section (quota checks and writes, address allocation): one at a time across replicas. */
  reserve<T>(fn: () => Promise<T>): Promise<T>;
  readonly leadership: LeadershipPort;
  readonly bus: BusPort;
  /** Starts campaigning and listening; resolves once the first leadership attempt was made. */
  start(): Promise<void>;
  /** Gives up leadership, leases and connections (a clean stop). */
  close(): Promise<void>;
}

/**
 * One leader among the replicas runs the cluster-wide schedulers. Each term has an epoch,
 * strictly larger than every earlier term's; a leader-only write runs through `fenced`
 * with the epoch it was granted, and is refused (StaleEpochError) once a later term began.
 */
export interface LeadershipPort {
  isLeader(): boolean;
  /** The epoch of this instance's current term; null when not leader. */
  epoch(): number | null;
  /** `listener(true, epoch)` when this instance becomes leader, `(false, null)` when deposed. Returns its removal. */
  onChange(listener: (leader: boolean, epoch: number | null) => void): () => void;
  /**
   * Runs `fn` only if `epoch` is still the current term, and no later term can begin while
   * `fn` runs; throws StaleEpochError otherwise.
   */
  fenced<T>(epoch: number, fn: () => Promise<T>): Promise<T>;
}

/** A leader-only write from a term that has ended. */
export class StaleEpochError extends Error {
  constructor(readonly epoch: number, readonly current: number | null) {
    super(`leadership epoch ${epoch} has ended (current: ${current ?? 'none'})`);
    this.name = 'StaleEpochError';
  }
}

/** What every replica must act on at once. Payloads are JSON. */
export interface BusTopics {
  /** Tokens of a workspace rotated or its runtime access disabled: cut its gateway streams. */
  'access.revoked': { workspaceId: string };
  /** A public slug of (workspace, port) stopped routing: cut the edge's exchanges. */
  'public.revoked': { workspaceId: string; port: number };
  /** Routes, exposures or network policies changed: re-read them. `origin`: the publishing instance's id. */
  'routes.changed': { origin: string; workspaceId?: string };
  /** A workspace record was written (or deleted) by replica `origin`: the leader re-arms its deadlines. */
  'workspace.changed': { origin: string; workspaceId: string };
  /** The POST /tokens key ring was rotated or a token revoked by replica `origin`: re-read both. */
  'access.keys': { origin: string };
}

/**
 * Publish/subscribe across replicas. The publishing instance's own subscribers run
 * synchronously inside `publish` (before it returns), so a local effect happens before the
 * caller answers; other replicas' run when the message reaches them (bounded delivery,
 * docs/SPECIFICATION.md). A message may be lost while a replica's listener reconnects.
 */
export interface BusPort {
  publish<K extends keyof BusTopics>(topic: K, payload: BusTopics[K]): Promise<void>;
  subscribe<K extends keyof BusTopics>(topic: K, handler: (payload: BusTopics[K]) => void): () => void;
}
