/**
 * Persistence behind one interface. The embedded default is SQLite in the data dir
 * (src/store/sqlite.ts); a PostgreSQL implementation can satisfy the same contract.
 * All methods are async so that a networked database fits.
 *
 * Records are plain data; the domain owns their meaning. `version` gives optimistic
 * concurrency: `updateWorkspace` with an `expectedVersion` fails with a conflict
 * when the row changed underneath.
 */
import type { WorkspaceConfig, NetworkPolicy } from '../contract/workspace.js';

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
  | 'deleting'
  | 'failed';

/** An operation recorded before its side effects, so a crash can be resumed or undone. */
export interface PendingOperation {
  op: 'create' | 'start' | 'stop' | 'restart' | 'pause' | 'resume' | 'delete';
  startedAt: string;
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
  idempotencyKey: string | null;
  /** Last failure, shown in `provisioning.error`. */
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
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

export interface ApiKeyRecord {
  clientId: string;
  /** scrypt hash of the secret, `scrypt$<salt-hex>$<hash-hex>`. */
  secretHash: string;
  scope: 'admin';
  createdAt: string;
}

/** One exposed port of a workspace (public access, control-plane.md §8). */
/** The part of a workspace record the network policy compiler needs. */
export interface NetworkPolicyRow {
  id: string;
  ip: string;
  network: WorkspaceRecord['network'];
}

export interface PublicPortRecord {
  workspace_id: string;
  port: number;
  /** Unique across all workspaces; the edge routes `<slug>.<public domain>` by it. */
  slug: string;
  label: string;
  /** Custom domain; always null until domain ownership checks exist. */
  domain: string | null;
  created_at: string;
}

export interface Store {
  /** Creates tables / runs migrations. Safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  insertWorkspace(rec: WorkspaceRecord): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRecord | null>;
  /** Finds by id first, then by slug. */
  findWorkspace(idOrSlug: string): Promise<WorkspaceRecord | null>;
  findWorkspaceByIdempotencyKey(key: string): Promise<WorkspaceRecord | null>;
  listWorkspaces(filter: WorkspaceFilter, page: Page): Promise<{ items: WorkspaceRecord[]; total: number }>;
  /** Every workspace, for reconciliation and address allocation. */
  /** id, address and network policy of every workspace (what the firewall compiles; cheap). */
  allNetworkPolicies(): Promise<NetworkPolicyRow[]>;
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

  /** Small key/value settings (e.g. secrets' fingerprints, schema facts). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
}
