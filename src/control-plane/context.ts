/**
 * What route modules get: the domain services, nothing that touches the OS.
 */
import type { Readable } from 'node:stream';
import type { BuildEvent, BuildRequest } from '../contract/image-build.js';
import type { ImageService } from '../domain/images.js';
import type { WorkspaceService } from '../domain/workspaces.js';
import type { RuntimeAccess } from '../domain/runtime-access.js';
import type { QuotaPolicy } from '../domain/quota.js';
import type { Store } from '../store/store.js';
import type { Authenticator } from '../domain/auth.js';
import type { NetworkPolicies } from '../domain/network-policy.js';
import type { PublicAccess } from '../domain/public-access.js';
import type { SnapshotService } from '../domain/snapshots.js';
import type { ArchiveService } from '../domain/archives.js';
import type { ResourceService } from '../domain/resources.js';
import type { IdleService } from '../domain/idle.js';
import type { SnapshotCapabilities } from '../drivers/driver.js';
import type { UsageReports } from '../domain/usage-report.js';
import type { ActivityLog } from '../domain/activity-log.js';
import type { WorkloadService } from '../domain/workloads.js';
import type { SshService } from '../domain/ssh.js';
import type { NamespaceService } from '../domain/namespaces.js';
import type { NamespaceQuotas } from '../domain/namespace-quotas.js';
import type { NodeRegistry } from '../domain/nodes.js';
import type { RateLimiter } from '../domain/rate-limit.js';
import type { WorkspaceLogs } from '../domain/workspace-logs.js';
import type { AccessTokens } from '../domain/access-tokens.js';
import type { ApiKeyService } from '../domain/api-keys.js';
import type { StatsHub } from '../domain/sampler.js';
import type { WarrenMetrics } from '../metrics/registry.js';

export interface ImageCatalogView {
  list(query: { search?: string; category?: string }): Promise<{ images: unknown[]; categories: unknown[] }>;
}

/** Dockerfile builds (routes/image-builds.ts; implemented by src/server-builds.ts). */
export interface ImageBuildsView {
  /** Checks the request, unpacks the tar context and reads the Dockerfile (AppErrors answer as JSON). */
  prepare(req: BuildRequest, context: Readable): Promise<{
    /** Runs the build, emitting its events; a `signal` abort cancels it. */
    run(onEvent: (e: BuildEvent) => void, signal: AbortSignal): Promise<void>;
    discard(): Promise<void>;
  }>;
}

export interface ControlPlaneContext {
  workspaces: WorkspaceService;
  access: RuntimeAccess;
  network: NetworkPolicies;
  publicAccess: PublicAccess;
  policy: QuotaPolicy;
  store: Store;
  auth: Authenticator;
  images: ImageCatalogView;
  /** Commit and delete (admin routes of src/control-plane/routes/images.ts). */
  imageService: ImageService;
  builds: ImageBuildsView;
  snapshots: SnapshotService;
  archives: ArchiveService;
  resources: ResourceService;
  idle: IdleService;
  /** Usage series, totals, credits and the estimate (routes/usage.ts). */
  usage: UsageReports;
  /** The lifecycle activity history. */
  activity: ActivityLog;
  workloads: WorkloadService;
  /** SSH access (routes/ssh.ts). */
  ssh: SshService;
  /** Scoped JWTs of POST /tokens (routes/tokens.ts). */
  tokens: AccessTokens;
  /** Namespace, billing and admin API keys (routes/tokens.ts). */
  apiKeys: ApiKeyService;
  namespaces: NamespaceService;
  /** Namespace quotas and default quotas (routes/quotas.ts). */
  quotas: NamespaceQuotas;
  /** The node registry (routes/nodes.ts); empty on a single-process serve. */
  nodes: NodeRegistry;
  /** Requests per caller (429 past it); absent or rate 0: no limit. */
  requestLimiter?: RateLimiter;
  logs: WorkspaceLogs;
  /** What the driver's snapshots hold; null when it cannot snapshot. */
  layerCapabilities(): SnapshotCapabilities | null;
  /** Counts as traffic for the idle policy (ping). */
  touch(workspaceId: string): void;
  /** Optional live stats for details; absent fields are reported as zero. */
  stats(id: string): Promise<Record<string, unknown> | null>;
  /** Live stats: one sampler per watched workspace, fanned out (routes/stats.ts). */
  statsHub: StatsHub;
  /** Facts of this host for GET /workspace/:id/info (never host paths). */
  host: { driver: string; kernelRelease: string };
  /** Operator metrics (GET /metrics) and the API latency histogram. */
  metrics: Pick<WarrenMetrics, 'render' | 'observeHttp'>;
  /** WARREN_METRICS_TOKEN: a Bearer token that may read /metrics; null when unset. */
  metricsToken: string | null;
}

export type { Principal } from '../domain/principal.js';
import type { Principal } from '../domain/principal.js';

export type Env = { Variables: { principal: Principal; requestId: string } };
