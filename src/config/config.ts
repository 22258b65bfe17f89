/**
 * Server configuration, resolved once at start-up from flags and environment.
 * Every value has an embedded default so that `warren serve` works on a fresh host.
 */
import type { ImageImportConfig } from './images.js';
import type { NetworkOptions } from './network.js';
import type { StorageRequest } from '../storage/pool.js';
import type { UsageConfig } from './usage.js';

import type { RateLimits } from './limits.js';
import type { SshConfig } from './ssh.js';
import type { QuotaFile } from './quota-file.js';
import type { NodeOptions, WarrenRole } from './node.js';

export interface WarrenConfig {
  /** What this process runs (src/config/node.ts): `all` (`warren serve`), `node` or `control`. */
  role: WarrenRole;
  /** The node daemon's relay, identity and capacity (used by `warren node`; src/config/node.ts). */
  node: NodeOptions;
  /** TCP port of the single origin serving control plane, gateway and edge. */
  port: number;
  host: string;
  /** Root of all persistent state (database, secrets, workspaces). */
  dataDir: string;
  /** Where built images are cached; defaults to `<dataDir>/images`. */
  imagesDir: string;
  /** Name of the Warren-owned Linux bridge (≤ 15 chars). */
  bridge: string;
  /** IPv4 subnet for workspace addresses; the first host address is the bridge's. */
  subnet: string;
  /** 4 hex chars naming this server's kernel objects (nft table, cgroup parent). */
  instanceId: string;
  /** PostgreSQL URL; absent means embedded SQLite in dataDir. */
  databaseUrl?: string;
  /** Preset admin API key (WARREN_ADMIN_CLIENT_ID / _SECRET). */
  adminClientId?: string;
  adminClientSecret?: string;
  /** Public base URL of this server, used in URLs handed to clients. */
  publicUrl: string;
  /** Exposed ports are served at `<slug>.<publicDomain>` (src/gateway/edge.ts). */
  publicDomain: string;
  /** Driver name; 'ns' is the embedded default. */
  driver: string;
  /** Where layers live and whether they clone copy-on-write (src/storage/pool.ts). */
  storage: StorageRequest;
  /** Apparent size of a new XFS storage pool (bytes); default: the data dir's filesystem size. */
  storagePoolBytes?: number;
  logLevel: string;
  /** Upstream, resolver and outbound-IP options (src/config/network.ts). */
  net: NetworkOptions;
  lifecycle: LifecycleConfig;
  /** Usage sampling, retention and the price table (src/config/usage.ts). */
  usage: UsageConfig;
  /**
   * The warm pool (src/domain/warm-pool.ts): ready sandboxes kept per image (`--warm-pool`,
   * WARREN_WARM_POOL, default 2; 0 = off) for the `images` (WARREN_WARM_POOL_IMAGES, default 2)
   * most recently created from.
   */
  warmPool: { size: number; images: number };
  /** Tick of the live stats samplers (WARREN_STATS_INTERVAL_MS, default 1000, at least 200). */
  statsIntervalMs: number;
  /** Bearer token that may read GET /metrics besides the admin key (WARREN_METRICS_TOKEN). */
  metricsToken?: string;
  /** Request rate per caller and failed sign-ins per client id and source address (src/config/limits.ts). */
  limits: RateLimits;
  /** The SSH jump host (src/config/ssh.ts). */
  ssh: SshConfig;
  /** Image import: allowed server-side dirs, upload and layer caps (src/config/images.ts). */
  imageImport: ImageImportConfig;
  /** The operator's quota file (src/config/quota-file.ts); {} when none. */
  quota: QuotaFile;
}

/** Restart-policy backoff and idle-policy minimums (environment only; see README). */
export interface LifecycleConfig {
  /** First restart delay; each further restart doubles it (WARREN_RESTART_BACKOFF_MS, default 500). */
  restartBackoffMs: number;
  /** Longest restart delay (WARREN_RESTART_BACKOFF_MAX_MS, default 60000). */
  restartBackoffMaxMs: number;
  /** Smallest idle suspend_after an owner may set (WARREN_IDLE_MIN_SECONDS, default 120). */
  idleMinSuspendS: number;
  /** Smallest non-zero idle stop_after (WARREN_IDLE_MIN_STOP_SECONDS, default 3600). */
  idleMinStopS: number;
}
