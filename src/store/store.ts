/**
 * Persistence behind one interface. The embedded default is SQLite in the data dir
 * (src/store/sqlite.ts); PostgreSQL (src/store/postgres.ts, issue 16) satisfies the same contract.
 * All methods are async so that a networked database fits.
 *
 * Records are plain data; the domain owns their meaning. `version` gives optimistic
 * concurrency: `updateWorkspace` with an `expectedVersion` fails with a conflict
 * when the row changed underneath.
 */
import type { WorkspaceConfig, NetworkPolicy } from '../contract/workspace.js';
import type { ArchiveFormat } from '../contract/layers.js';
import type {
  ActivityFilter, ActivityRecord, UsageCursor, UsageRange, UsageRow, UsageTier, UsageTotalsRow, UsageTrackingRecord,
} from './usage-records.js';

export type * from './usage-records.js';

export type { ArchiveFormat };

export type LifecycleState =
  | 'creating'
  | 'starting'
  | 'running'
  | 'pausing'
  | 'paused'
  | 'resuming'
  | 'stopping'
  | 'stopped'
  | 'restarting'
  | 'restoring'
  | 'destroying'
  /** The sandbox and its writable layer were destroyed; the record and its archives remain. */
  | 'archived'
  | 'deleting'
  | 'failed';

/** Where a new writable layer comes from (restore, fork, start of an archived workspace). */
export type LayerSource =
  | { kind: 'snapshot'; snapshotId: string }
  | { kind: 'archive'; version: string };

/** An operation recorded before its side effects, so a crash can be resumed or undone. */
export interface PendingOperation {
  op: 'create' | 'start' | 'stop' | 'restart' | 'pause' | 'resume' | 'delete' | 'restore' | 'destroy';
  startedAt: string;
  /** create/start/restore: the layer to start from when there is none (or to replace it with, for restore). */
  source?: LayerSource;
  /** restore: the state the workspace returns to afterwards. */
  then?: 'running' | 'paused' | 'stopped';
  /** destroy: write this archive first. */
  archive?: { version: string; format: ArchiveFormat };
  /** Set when the operation was started by Warren (TTL, restart policy, idle) rather than a user. */
  automatic?: boolean;
  /** Who started it when not a user (transitions.ts `Origin`); the activity history's origin. */
  by?: 'ttl' | 'policy' | 'idle' | 'wake';
  /** The state the workspace was in when the operation was asked for (absent for a create). */
  from?: LifecycleState;
}

/** The restart policy's memory of a workspace (GET /lifecycle `restart_info`). */
export interface RestartInfo {
  /** Restarts made by the policy since a user last started the workspace. */
  count: number;
  last_exit_code: number | null;
  /** 'exited' or 'oom'. */
  last_exit_reason: string | null;
  last_exit_at: string | null;
  last_restart_at: string | null;
  /** When the policy starts the workspace again (backoff); null when none is due. */
  next_restart_at: string | null;
}

export interface LifecycleInfo {
  restart: RestartInfo;
  /** Set while the idle policy keeps the workspace asleep; the next request wakes it. */
  asleep: { since: string; state: 'paused' | 'stopped' } | null;
}

export function emptyLifecycleInfo(): LifecycleInfo {
  return {
    restart: {
      count: 0, last_exit_code: null, last_exit_reason: null, last_exit_at: null, last_restart_at: null, next_restart_at: null,
    },
    asleep: null,
  };
}

export interface ApiAccessState {
  enabled: boolean;
  /** Current raw connection token (hex); the agent accepts only this one. */
  rawToken: string;
  /** Bumped on rotate/disable; gateway JWTs carrying an older generation are refused. */
  generation: number;
}

export interface WorkspaceRecord {
  id: string;
  shortId: string;
  name: string;
  slug: string | null;
  namespace: string | null;
  mode: 'permanent' | 'temporary';
  image: string;
  /**
   * The stored image (`sha256:…`) the workspace's root is layered on, pinned at create or
   * first boot; null until then (and for workspaces made before images had layers).
   */
  imageId: string | null;
  state: LifecycleState;
  /** Set while a multi-step operation is in flight. */
  pending: PendingOperation | null;
  /** True when the last stop was asked for by the user (seed `info.user_requested_stop`). */
  userRequestedStop: boolean;
  config: WorkspaceConfig;
  network: NetworkPolicy;
  ip: string;
  apiAccess: ApiAccessState;
  metadata: Record<string, string>;
  /** Restart policy bookkeeping and sleep state. */
  lifecycle: LifecycleInfo;
  idempotencyKey: string | null;
  /** Last failure, shown in `provisioning.error`. */
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  /** The node the workspace is placed on (src/domain/nodes.ts); null: the local host of a single-process `serve`. */
  nodeId: string | null;
  version: number;
}

export interface WorkspaceFilter {
  mode?: string;
  state?: string;
  namespace?: string;
}

export interface Page {
  page: number;
  limit: number;
}

export type { AccessTokenRecord, AccessTokenScope, ApiKeyRecord, ApiKeyScope } from './access-records.js';
import type { AccessTokenRecord, ApiKeyRecord } from './access-records.js';

/** One exposed port of a workspace (public access, control-plane.md §8). */
/** The part of a workspace record the network policy compiler needs. */
export interface NetworkPolicyRow {
  id: string;
  ip: string;
  network: WorkspaceRecord['network'];
}

/**
 * What a reservation reads of every workspace (quota pools, namespace limits, slugs,
 * addresses): a few columns, so a create costs the same at 1 and at 1,000 workspaces
 * instead of parsing every full record.
 */
export interface ReservationRow {
  id: string;
  slug: string | null;
  namespace: string | null;
  state: WorkspaceRecord['state'];
  ip: string;
  config: Pick<WorkspaceRecord['config'], 'cpus' | 'memory_mb' | 'disk_size_mb'>;
}

export type { ArchiveRecord, PublicPortRecord, SnapshotFilter, SnapshotRecord } from './layer-records.js';
import type { ArchiveRecord, PublicPortRecord, SnapshotFilter, SnapshotRecord } from './layer-records.js';

export type { NamespaceActivityRecord, NamespaceLimits, NamespaceRecord, NamespaceStatus, NamespaceType } from './namespace-records.js';
import type { NamespaceActivityRecord, NamespaceRecord } from './namespace-records.js';
export type { DefaultQuotaRecord, NamespaceQuotaRecord, OverdraftAction } from './quota-records.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord } from './quota-records.js';

export interface Store {
  /** Creates tables / runs migrations. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Inserts every record in one transaction: all or none. */
  insertWorkspaces(recs: WorkspaceRecord[]): Promise<void>;
  insertWorkspace(rec: WorkspaceRecord): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRecord | null>;
  /** Finds by id first, then by slug. */
  findWorkspace(idOrSlug: string): Promise<WorkspaceRecord | null>;
  findWorkspaceByIdempotencyKey(key: string): Promise<WorkspaceRecord | null>;
  /**
   * The workspace whose runtime access is enabled with the raw token of hex SHA-256 `hash`
   * (token-hash.ts), by one indexed query; null when none. Callers still compare the raw
   * token itself in constant time.
   */
  findWorkspaceByTokenHash(hash: string): Promise<WorkspaceRecord | null>;
  listWorkspaces(filter: WorkspaceFilter, page: Page): Promise<{ items: WorkspaceRecord[]; total: number }>;
  /**
   * id, address and network policy of every workspace (what the firewall compiles; cheap).
   * The policies are read-only: a store may hand back the same object while it is unchanged.
   */
  allNetworkPolicies(): Promise<NetworkPolicyRow[]>;
  /** The reservation columns of every workspace (quota checks, address allocation; cheap). */
  allReservations(): Promise<ReservationRow[]>;
  /** Every workspace, for reconciliation. */
  allWorkspaces(): Promise<WorkspaceRecord[]>;
  /**
   * Writes `rec` (bumping `version` and `updatedAt`). With `expectedVersion`, fails
   * with AppError('conflict') if the stored version differs.
   */
  updateWorkspace(rec: WorkspaceRecord, expectedVersion?: number): Promise<WorkspaceRecord>;
  deleteWorkspace(id: string): Promise<void>;

  putApiKey(key: ApiKeyRecord): Promise<void>;
  getApiKey(clientId: string): Promise<ApiKeyRecord | null>;
  countApiKeys(): Promise<number>;
  allApiKeys(): Promise<ApiKeyRecord[]>;
  /** False when there was no such key. */
  deleteApiKey(clientId: string): Promise<boolean>;

  // Scoped JWTs issued by POST /tokens (sqlite-access.ts); the tokens themselves are never stored.
  putAccessToken(t: AccessTokenRecord): Promise<void>;
  /** Tokens not expired at `now` (ISO), revoked ones included. */
  liveAccessTokens(now: string): Promise<AccessTokenRecord[]>;
  /** False when there is no such token. */
  revokeAccessToken(id: string, at: string): Promise<boolean>;
  /** Forgets tokens that expired before `before`; returns how many. */
  pruneAccessTokens(before: string): Promise<number>;

  /**
   * Inserts or replaces the exposure (workspace_id, port). A slug held by another
   * exposure → AppError('conflict', …, { field: 'slug' }); an unknown workspace →
   * AppError('not_found', …, { field: 'id' }).
   */
  putPublicPort(rec: PublicPortRecord): Promise<void>;
  /** Exposures of one workspace, by port ascending. */
  listPublicPorts(workspaceId: string): Promise<PublicPortRecord[]>;
  /** Every exposure (edge and firewall rebuilds). */
  allPublicPorts(): Promise<PublicPortRecord[]>;
  findPublicPortBySlug(slug: string): Promise<PublicPortRecord | null>;
  /** Returns whether a row was removed. deleteWorkspace removes a workspace's exposures too. */
  deletePublicPort(workspaceId: string, port: number): Promise<boolean>;

  /** Inserts or replaces the snapshot with this id. */
  putSnapshot(rec: SnapshotRecord): Promise<void>;
  getSnapshot(id: string): Promise<SnapshotRecord | null>;
  /** Matching snapshots, oldest first. */
  listSnapshots(filter: SnapshotFilter): Promise<SnapshotRecord[]>;
  deleteSnapshot(id: string): Promise<void>;

  /**
   * Inserts or replaces the archive (workspace_id, version). An unknown workspace →
   * AppError('not_found', …, { field: 'id' }). Rows go with their workspace.
   */
  putArchive(rec: ArchiveRecord): Promise<void>;
  getArchive(workspaceId: string, version: string): Promise<ArchiveRecord | null>;
  /** Archives of one workspace, oldest first. */
  listArchives(workspaceId: string): Promise<ArchiveRecord[]>;
  /** Every archive (reconciliation). */
  allArchives(): Promise<ArchiveRecord[]>;
  /** Returns whether a row was removed. */
  deleteArchive(workspaceId: string, version: string): Promise<boolean>;

  /** Small key/value settings (e.g. secrets' fingerprints, schema facts). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * Stores `value` under `key` unless the key is set, atomically, and returns what is stored
   * then: of replicas racing to create one secret, the first writer wins and all get its value.
   */
  setSettingIfAbsent(key: string, value: string): Promise<string>;

  // Usage and activity (control-plane.md §13; records in usage-records.ts). Not removed with the workspace.
  /** Adds each row's amounts to its (workspace, minute) bucket and saves the cursors, in one transaction. */
  recordUsage(rows: UsageRow[], cursors: Array<{ workspace_id: string; cursor: UsageCursor }>): Promise<void>;
  /** Usage summed per workspace and `tier` bucket within the range, by bucket then workspace id. */
  listUsage(range: UsageRange, tier: UsageTier): Promise<UsageRow[]>;
  /** One row per workspace with usage in the range, by workspace id. */
  usageTotals(range: UsageRange): Promise<UsageTotalsRow[]>;
  /** Removes every usage bucket of the workspace (its tracking switch and cursor stay); returns how many. */
  deleteUsage(workspaceId: string): Promise<number>;
  listUsageTracking(): Promise<UsageTrackingRecord[]>;
  getUsageTracking(workspaceId: string): Promise<UsageTrackingRecord | null>;
  /** Switches tracking; keeps the cursor. */
  setUsageTracking(workspaceId: string, enabled: boolean, at: string): Promise<UsageTrackingRecord>;
  addActivity(entry: Omit<ActivityRecord, 'id'>): Promise<ActivityRecord>;
  /** Matching entries, newest (highest id) first. */
  listActivity(filter: ActivityFilter): Promise<ActivityRecord[]>;
  /** Drops usage buckets older than `olderThan` and tracking rows of workspaces that no longer exist. */
  pruneUsage(olderThan: string): Promise<number>;
  /** Drops entries older than `olderThan`, then all but the newest `maxPerWorkspace` of each workspace. */
  pruneActivity(olderThan: string, maxPerWorkspace: number): Promise<number>;

  // Namespaces (sqlite-namespaces.ts).
  putNamespace(rec: NamespaceRecord): Promise<void>;
  /** By id, else by slug. */
  findNamespace(idOrSlug: string): Promise<NamespaceRecord | null>;
  allNamespaces(): Promise<NamespaceRecord[]>;
  deleteNamespace(id: string): Promise<boolean>;
  addNamespaceActivity(entry: Omit<NamespaceActivityRecord, 'id'>): Promise<NamespaceActivityRecord>;
  /** Newest first. */
  listNamespaceActivity(namespaceId: string, limit: number, offset: number): Promise<NamespaceActivityRecord[]>;

  // Namespace quotas and default quotas (sqlite-quotas.ts).
  /** Inserts or replaces the (namespace_id, service) quota. */
  putNamespaceQuota(q: NamespaceQuotaRecord): Promise<void>;
  getNamespaceQuota(namespaceId: string, service: string): Promise<NamespaceQuotaRecord | null>;
  /** Of one namespace, or every quota when `namespaceId` is undefined. */
  listNamespaceQuotas(namespaceId?: string): Promise<NamespaceQuotaRecord[]>;
  /** Every quota of the namespace; returns how many. */
  deleteNamespaceQuotas(namespaceId: string): Promise<number>;
  putDefaultQuota(d: DefaultQuotaRecord): Promise<void>;
  getDefaultQuota(level: string, service: string): Promise<DefaultQuotaRecord | null>;
  listDefaultQuotas(level: string): Promise<DefaultQuotaRecord[]>;
  deleteDefaultQuota(level: string, service: string): Promise<boolean>;

  // SSH access of workspaces (sqlite-ssh.ts; rows go with their workspace).
  getSsh(workspaceId: string): Promise<SshRecord | null>;
  findSshById(sshId: string): Promise<SshRecord | null>;
  /** Inserts or replaces the workspace's row; a taken ssh_id → AppError('conflict', …, { field: 'ssh_id' }). */
  putSsh(rec: SshRecord): Promise<void>;

  // The node registry (sqlite-nodes.ts, postgres-nodes.ts; meaning in src/domain/nodes.ts).
  /**
   * Inserts the node `ready`, or updates an existing one's name, address, capacity, labels,
   * version and heartbeat in one statement: `registered_at` is kept, a `draining` node stays
   * draining, a `lost` (or ready) one becomes `ready`. Returns the stored row.
   */
  registerNode(reg: NodeRegistration, at: string): Promise<NodeRecord>;
  /**
   * One row write: `heartbeat_at = at` (and the capacity, when given) of a node that is not
   * `lost`. Returns the stored row; null when there is no such node or it is lost (a lost
   * node must register again, which is where its workspaces are re-adopted).
   */
  heartbeatNode(id: string, at: string, capacity?: NodeCapacity): Promise<NodeRecord | null>;
  getNode(id: string): Promise<NodeRecord | null>;
  /** Every node, by id. */
  listNodes(): Promise<NodeRecord[]>;
  /**
   * Sets the state; with `onlyFrom`, only when the current state is one of them. Returns the
   * stored row (changed or not); null when there is no such node.
   */
  setNodeState(id: string, state: NodeState, onlyFrom?: readonly NodeState[]): Promise<NodeRecord | null>;
  /**
   * Marks `lost` every `ready` or `draining` node whose heartbeat is older than `before`
   * (ISO), in one statement; returns the ids it changed, ascending.
   */
  markNodesLost(before: string): Promise<string[]>;
  /** Per node with workspaces: what they hold (every workspace on it but archived ones), by node id. */
  nodeAllocations(): Promise<NodeAllocation[]>;
}

export type { SshRecord } from './ssh-records.js';
export type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';
import type { SshRecord } from './ssh-records.js';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';
