/**
 * The fleet backend (src/domain/backend.ts): what a `warren control` replica runs. The
 * replica owns no host; every workspace lives on a node daemon, and every apply or observe
 * call goes to the node its record names, over the node API (src/node/node-api.ts).
 *
 * - place: best of K by free capacity over the registry's ready nodes, counting the
 *   reservation's earlier placements (`batch`); the address comes from the chosen node's
 *   registered subnet (`NodeRegistration.subnet`), free of every address `taken`.
 * - apply/observe: `assertReachable` first (a lost node → 503 `node_lost` without a
 *   network round trip), then one POST with a fresh `api` token bound to the node, the op,
 *   the workspace and the body. The node's AppErrors come back with their code and details; no
 *   answer at all is 503 `node_lost` with `details.reason` `unreachable`
 *   (src/fleet/node-api-client.ts). `bringUp` stores the image the node pinned in `rec.imageId`.
 * - route: `via` is the node's relay (its registered address).
 * - warm pool: the placed node's (`takeReady`, `assignReady`, `putBackReady` → the node API's
 *   pool ops, src/node/pool-handoff.ts); a node that does not answer a take offers nothing
 *   and the create boots cold there (its bring-up then meets the same silence).
 * - host-local work: none here (`owns` is false, the node daemon reconciles its own host);
 *   no pool of its own (`pool` null), no exit watches (the domain polls `inspect`), and no writable-layer
 *   work: snapshots and archives over the node API are later work, so `layers` is null and
 *   `requireLayers` answers 501 `not_implemented` (`details.field` `driver`).
 */
import { AppError } from '../contract/errors.js';
import type { DriverCapabilities, SandboxStats, SandboxStatus } from '../drivers/driver.js';
import type { PlacedDemand, PoolOffer, PoolWant, ReadySandbox, WorkspaceBackend } from '../domain/backend.js';
import type { LayerOps, ResolvedSource } from '../domain/layer-ops.js';
import type { NodeRegistry } from '../domain/nodes.js';
import type { RelayVia } from '../domain/ports.js';
import type { Demand } from '../domain/quota.js';
import { allocate } from '../network/addresses.js';
import { nodeApiTarget, type NodeApiOp } from '../node/node-api.js';
import type { NodeApiInsideOp } from '../node/node-api-inside.js';
import { poolSubject, type NodePoolOp, type PoolBody } from '../node/node-pool-api.js';
import type { NodeTokenSigner } from '../node/node-tokens.js';
import type { NodeRecord, WorkspaceRecord } from '../store/store.js';
import { callNode, splitAddress, type NodeAnswer } from './node-api-client.js';
import { NodeCaller } from './node-caller.js';

/** What the node daemons' driver (ns) can do. */
export const NODE_CAPABILITIES: DriverCapabilities = { pause: true, snapshot: false, isolation: true };

/** The ops this backend sends (the inside ops go through NodeCaller, which sets their waits per call). */
export type FleetOp = Exclude<NodeApiOp, NodeApiInsideOp>;

/** How long a replica waits for each op (a bring-up may build a catalog image first on the node). */
export const DEFAULT_OP_TIMEOUTS_MS: Readonly<Record<FleetOp, number>> = {
  'bring-up': 15 * 60_000, 'bring-down': 2 * 60_000, pause: 60_000, resume: 60_000,
  destroy: 5 * 60_000, 'destroy-sandbox': 5 * 60_000, 'update-resources': 2 * 60_000,
  'sync-agent-token': 60_000, 'sync-ssh': 30_000, inspect: 15_000, stats: 15_000,
  // Inside the reservation (the cluster-wide create lock): a slow node must not hold every create for long.
  'pool-take': 5_000, 'pool-assign': 5_000, 'pool-put-back': 5_000,
};

export interface FleetBackendOptions {
  registry: NodeRegistry;
  /** Signs `api` tokens with the cluster's node key. */
  signer: NodeTokenSigner;
  capabilities: DriverCapabilities;
  /** Per-op waits (ms); defaults DEFAULT_OP_TIMEOUTS_MS. */
  timeoutsMs?: Partial<Record<FleetOp, number>>;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export class FleetBackend implements WorkspaceBackend {
  readonly kind = 'fleet';
  readonly capabilities: DriverCapabilities;
  readonly pool = null;
  readonly layers: LayerOps | null = null;
  readonly localNodeId = null;
  private inFlightBoots = 0;
  private readonly caller: NodeCaller;

  constructor(private readonly o: FleetBackendOptions) {
    this.capabilities = o.capabilities;
    this.caller = new NodeCaller({ registry: o.registry, signer: o.signer, ...(o.log ? { log: o.log } : {}) });
  }

  /** Whether a bring-up this replica asked for is under way. */
  get busy(): boolean {
    return this.inFlightBoots > 0;
  }

  // place

  async place(demand: Demand, batch: readonly PlacedDemand[]): Promise<string | null> {
    return (await this.o.registry.place(demand, undefined, batch)).id;
  }

  async allocateAddress(nodeId: string | null, taken: ReadonlySet<string>): Promise<string> {
    if (nodeId === null) throw new AppError('server_error', 'A fleet workspace must be placed on a node before it gets an address');
    const node = await this.o.registry.get(nodeId);
    if (!node.subnet) throw new AppError('server_error', `Node ${nodeId} registered no sandbox subnet`);
    return allocate(node.subnet, taken);
  }

  // the placed node's warm pool

  async takeReady(nodeId: string | null, want: PoolWant | null): Promise<PoolOffer> {
    if (nodeId === null) return { ready: null, held: [] };
    try {
      return offerOf(nodeId, (await this.callPool('pool-take', nodeId, { pool: { want } })).result);
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'node_lost')) throw err;
      return { ready: null, held: [] }; // callPool logged it; the bring-up meets the node's silence
    }
  }

  async assignReady(nodeId: string | null, workspaceId: string, ready: ReadySandbox): Promise<void> {
    if (nodeId !== null) await this.callPool('pool-assign', nodeId, { pool: { workspaceId, ready } });
  }

  async putBackReady(nodeId: string | null, ready: ReadySandbox): Promise<void> {
    if (nodeId !== null) await this.callPool('pool-put-back', nodeId, { pool: { ready } });
  }

  // apply desired state

  async bringUp(rec: WorkspaceRecord, source?: ResolvedSource): Promise<void> {
    this.inFlightBoots++;
    try {
      const answer = await this.call('bring-up', rec, source);
      if (answer.imageId !== undefined) rec.imageId = answer.imageId;
    } finally {
      this.inFlightBoots--;
    }
  }

  async bringDown(rec: WorkspaceRecord): Promise<void> { await this.call('bring-down', rec); }
  async pause(rec: WorkspaceRecord): Promise<void> { await this.call('pause', rec); }
  async resume(rec: WorkspaceRecord): Promise<void> { await this.call('resume', rec); }
  async destroy(rec: WorkspaceRecord): Promise<void> { await this.call('destroy', rec); }
  async destroySandbox(rec: WorkspaceRecord): Promise<void> { await this.call('destroy-sandbox', rec); }
  async updateResources(rec: WorkspaceRecord): Promise<void> { await this.call('update-resources', rec); }
  async syncAgentToken(rec: WorkspaceRecord): Promise<void> { await this.call('sync-agent-token', rec); }
  /** The node tells the workspace's agent its SSH settings, read from the store (SshService `applyOnNode`). */
  async syncSsh(rec: WorkspaceRecord): Promise<void> { await this.call('sync-ssh', rec); }

  // observe

  async inspect(rec: WorkspaceRecord): Promise<SandboxStatus> {
    const { result } = await this.call('inspect', rec);
    if (!isObject(result) || typeof result.state !== 'string') throw malformed(rec, 'inspect');
    return result as unknown as SandboxStatus;
  }

  async stats(rec: WorkspaceRecord): Promise<SandboxStats> {
    const { result } = await this.call('stats', rec);
    if (!isObject(result) || typeof result.cpuUsageNs !== 'number') throw malformed(rec, 'stats');
    return result as unknown as SandboxStats;
  }

  // watch: the node's exits are not streamed to replicas; the domain polls inspect.
  async watchExit(_rec: WorkspaceRecord, _onExit: () => void): Promise<(() => void) | null> {
    return null;
  }

  // route

  async via(rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<RelayVia | undefined> {
    if (rec.nodeId === null) return undefined;
    await this.o.registry.assertReachable(rec);
    const node = await this.o.registry.get(rec.nodeId);
    const at = splitAddress(node.address);
    if (!at) throw new AppError('server_error', `Node ${node.id} registered an address that is not host:port`);
    return { relayHost: at.host, relayPort: at.port, nodeId: node.id };
  }

  async assertReachable(rec: Pick<WorkspaceRecord, 'id' | 'nodeId'>): Promise<void> {
    await this.o.registry.assertReachable(rec);
  }

  // host-local work: the node daemons do it for their own hosts

  owns(_rec: Pick<WorkspaceRecord, 'nodeId'>): boolean {
    return false;
  }

  async reattach(_rec: WorkspaceRecord): Promise<void> {}

  async workspacesOnHost(): Promise<Set<string>> {
    return new Set();
  }

  async residue(): Promise<string[]> {
    return [];
  }

  async destroyResidue(_shortId: string): Promise<void> {}

  requireLayers(): LayerOps {
    throw new AppError('not_implemented', 'Snapshots and archives of workspaces on nodes are not supported yet', { field: 'driver' });
  }

  private async callPool(op: NodePoolOp, nodeId: string, body: PoolBody): Promise<NodeAnswer> {
    const node = await this.o.registry.get(nodeId);
    const payload = Buffer.from(JSON.stringify(body));
    const token = this.o.signer.sign(node.id, nodeApiTarget(op, poolSubject(op, body), payload), 'api');
    try {
      return await callNode({ nodeId: node.id, address: node.address, op, token, timeoutMs: this.o.timeoutsMs?.[op] ?? DEFAULT_OP_TIMEOUTS_MS[op], payload });
    } catch (err) {
      if (err instanceof AppError && err.code === 'node_lost') this.o.log?.('fleet: node did not answer', { node: node.id, op });
      throw err;
    }
  }

  private async call(op: FleetOp, rec: WorkspaceRecord, source?: ResolvedSource): Promise<NodeAnswer> {
    const timeoutMs = this.o.timeoutsMs?.[op] ?? DEFAULT_OP_TIMEOUTS_MS[op];
    return this.caller.answer(op, rec, source ? { source } : {}, { timeoutMs });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A `pool-take` answer, checked: addresses and short ids only. */
function offerOf(nodeId: string, result: unknown): PoolOffer {
  const bad = () => new AppError('server_error', `Node ${nodeId} answered pool-take with an unexpected shape`);
  if (!isObject(result) || !Array.isArray(result.held) || !result.held.every((ip) => typeof ip === 'string')) throw bad();
  const ready = result.ready;
  if (ready === null) return { ready: null, held: result.held as string[] };
  if (!isObject(ready) || typeof ready.ip !== 'string' || typeof ready.shortId !== 'string') throw bad();
  return { ready: { ip: ready.ip, shortId: ready.shortId }, held: result.held as string[] };
}

function malformed(rec: WorkspaceRecord, op: NodeApiOp): AppError {
  return new AppError('server_error', `The node of workspace ${rec.id} answered ${op} with an unexpected shape`);
}
