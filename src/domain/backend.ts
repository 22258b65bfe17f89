/**
 * Where workspaces run, as the domain sees it (issue 16): the layer above `Driver`.
 * The domain decides *what* (transitions, intent in the store, quotas); a backend
 * makes it so *somewhere* and reports what is there.
 *
 * - `local` (src/domain/orchestrator.ts): this process owns the host: driver, firewall,
 *   images, warm pool. `warren serve` and `warren node` run it.
 * - `fleet` (src/fleet/fleet-backend.ts): the workspace lives on a node daemon; every
 *   call goes to the node the record names over its authenticated node API, and the
 *   gateway, edge and jump host reach the sandbox through that node's relay. `warren
 *   control` runs it.
 *
 * Contract (both backends, one suite: src/domain/backend-contract-suite.ts):
 * - place: `place` names the node a new workspace goes to and `allocateAddress` an
 *   address on it; both are called inside the reservation (one at a time cluster-wide).
 * - warm pool (wherever it is): inside the reservation, after `place`, `takeReady` hands
 *   the reservation one ready sandbox of the placed node's pool (its address and name become
 *   the record's) and says which addresses that pool holds (no new record may get one).
 *   Once the record is stored the caller `assignReady`s it (the node's next `bringUp` of
 *   that record adopts it); when the insert failed it `putBackReady`s it. A taken sandbox is
 *   never handed to a second reservation; both calls are idempotent.
 * - apply desired state: `bringUp`, `bringDown`, `pause`, `resume`, `destroy`,
 *   `destroySandbox`, `updateResources`, `syncAgentToken` are idempotent; the caller
 *   recorded the intent before, and a retry after a crash converges. `bringUp` may pin
 *   `rec.imageId` (the caller stores it with the outcome).
 * - observe: `inspect` and `stats` read the real sandbox, never a cache.
 * - watch: `watchExit` calls back once when a running sandbox ends by itself, or returns
 *   null when this backend cannot tell (the domain then polls `inspect`).
 * - route: `via` says how a replica reaches the sandbox's private address (absent:
 *   directly); `assertReachable` throws `node_lost` (503) when the node is gone.
 * - host-local work (reconcile, residue, exit watches) happens only for records `owns`
 *   says this process runs.
 */
import type { DriverCapabilities } from '../drivers/driver.js';
import type { SandboxStats, SandboxStatus } from '../drivers/driver.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { LayerOps, ResolvedSource } from './layer-ops.js';
import type { Demand } from './quota.js';
import type { RelayVia } from './ports.js';

/** A warm-pool sandbox a reservation took: the new record's address and short id. */
export interface ReadySandbox {
  ip: string;
  shortId: string;
}

/** What the placed node's pool offers a reservation. */
export interface PoolOffer {
  /** The sandbox taken for the record (null: none of that image waits, or no pool). */
  ready: ReadySandbox | null;
  /** Addresses the node's pool holds (its ready and half-made sandboxes'): a new record must not get one. */
  held: string[];
}

/** The image a plain create wants a ready sandbox of (its stored build). */
export interface PoolWant {
  image: string;
  imageId: string | null;
}

/** A placement made earlier in the same reservation (not in the store yet). */
export interface PlacedDemand {
  nodeId: string | null;
  demand: Demand;
}

export interface WorkspaceBackend {
  /** `local` or `fleet` (logs, `GET /health`). */
  readonly kind: 'local' | 'fleet';
  /** What the sandboxes can do (pause, snapshot, isolation), as the driver(s) behind say. */
  readonly capabilities: DriverCapabilities;
  /** Writable-layer work (snapshots, archives), when the sandboxes can snapshot here. */
  readonly layers: LayerOps | null;
  /** The node id this process's own workspaces carry (null: a single host). */
  readonly localNodeId: string | null;
  /** Whether a workspace is being booted by this process now. */
  readonly busy: boolean;

  // place
  /**
   * The node a new workspace of `demand` goes to (null: the single host). Inside the
   * reservation; `batch` are this reservation's earlier placements, not stored yet.
   */
  place(demand: Demand, batch: readonly PlacedDemand[]): Promise<string | null>;
  /** A free address on `nodeId` (none of `taken`). Inside the reservation. */
  allocateAddress(nodeId: string | null, taken: ReadonlySet<string>): Promise<string>;
  /**
   * Inside the reservation, after `place`: the addresses `nodeId`'s pool holds and, when
   * `want` is given, one ready sandbox of that image taken off it (asking is also the pool's
   * cue to keep that image warm). A fleet whose node does not answer offers nothing.
   */
  takeReady(nodeId: string | null, want: PoolWant | null): Promise<PoolOffer>;
  /** The record of workspace `workspaceId` holding `ready` is stored: its first boot adopts it. */
  assignReady(nodeId: string | null, workspaceId: string, ready: ReadySandbox): Promise<void>;
  /** The record holding `ready` was not stored: the sandbox waits again, unused. */
  putBackReady(nodeId: string | null, ready: ReadySandbox): Promise<void>;

  // apply desired state
  bringUp(rec: WorkspaceRecord, source?: ResolvedSource): Promise<void>;
  bringDown(rec: WorkspaceRecord): Promise<void>;
  pause(rec: WorkspaceRecord): Promise<void>;
  resume(rec: WorkspaceRecord): Promise<void>;
  destroy(rec: WorkspaceRecord): Promise<void>;
  destroySandbox(rec: WorkspaceRecord): Promise<void>;
  updateResources(rec: WorkspaceRecord): Promise<void>;
  syncAgentToken(rec: WorkspaceRecord): Promise<void>;

  // observe
  inspect(rec: WorkspaceRecord): Promise<SandboxStatus>;
  stats(rec: WorkspaceRecord): Promise<SandboxStats>;

  // watch
  watchExit(rec: WorkspaceRecord, onExit: () => void): Promise<(() => void) | null>;

  // route
  /** How a replica reaches `rec`'s sandbox (absent: directly, it runs on this host). */
  via(rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<RelayVia | undefined>;
  /** Throws `node_lost` (503) when the node running `rec` stopped heartbeating. */
  assertReachable(rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<void>;

  // host-local work (only for records this process runs)
  owns(rec: Pick<WorkspaceRecord, 'nodeId'>): boolean;
  reattach(rec: WorkspaceRecord): Promise<void>;
  workspacesOnHost(): Promise<Set<string>>;
  residue(): Promise<string[]>;
  destroyResidue(shortId: string): Promise<void>;
  requireLayers(): LayerOps;
}
