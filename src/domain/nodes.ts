/**
 * The node registry (issue 16): hosts running `warren node` register with their capacity and
 * heartbeat; the registry says which are usable and places workspaces on them. Pure logic
 * over the Store (no OS, no timers): the leader calls `sweepLost` on its own schedule, the
 * node API calls `register`/`heartbeat`, the reservation transaction calls `place`.
 *
 * States: `ready` (takes placements) → `draining` (operator: no new placements, existing
 * workspaces keep running) and back; `ready`/`draining` → `lost` when the last heartbeat is
 * older than `lostAfterMs`. A lost node's heartbeats are refused (`node_lost`): it must
 * register again, which makes it `ready` (or keeps it `draining`) with the same id, and its
 * workspaces are re-adopted (their records still name it), never recreated.
 *
 * Placement: best of K by free capacity (`placeWorkspace`). Only `ready` nodes where the
 * request fits (cpus, memory, disk and the workspace count) are candidates; K of them are
 * sampled at random and the one with the most room left on its tightest resource wins
 * (ties: the lower id). Sampling K instead of scanning all keeps concurrent placements from
 * piling onto the one emptiest node.
 */
import { AppError } from '../contract/errors.js';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, Store } from '../store/store.js';
import type { Demand } from './quota.js';
import type { PlacedDemand } from './backend.js';

/** Heartbeats older than this make a node `lost` (WARREN_NODE_LOST_AFTER_MS). */
export const DEFAULT_LOST_AFTER_MS = 15_000;
/** How often a node is expected to heartbeat: three misses before it is lost. */
export const EXPECTED_HEARTBEAT_MS = 5_000;
/** Candidates sampled per placement (WARREN_PLACEMENT_K). */
export const DEFAULT_PLACEMENT_K = 3;

export interface NodeRegistrySettings {
  lostAfterMs: number;
  placementK: number;
}

function positiveInt(env: Readonly<Record<string, string | undefined>>, key: string, fallback: number): number {
  const text = env[key];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${key} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** The settings from an environment (process.env at the composition root). */
export function nodeRegistrySettings(env: Readonly<Record<string, string | undefined>>): NodeRegistrySettings {
  return {
    lostAfterMs: positiveInt(env, 'WARREN_NODE_LOST_AFTER_MS', DEFAULT_LOST_AFTER_MS),
    placementK: positiveInt(env, 'WARREN_PLACEMENT_K', DEFAULT_PLACEMENT_K),
  };
}

const EMPTY: Omit<NodeAllocation, 'node_id'> = { cpus: 0, memory_mb: 0, disk_mb: 0, workspaces: 0 };

/**
 * The share of the node left on its tightest resource once `request` is added (0: full,
 * negative: does not fit). A zero capacity only fits a zero request.
 */
export function freeShare(cap: NodeCapacity, held: Omit<NodeAllocation, 'node_id'>, request: Demand): number {
  const share = (capacity: number, used: number, add: number) =>
    capacity > 0 ? (capacity - used - add) / capacity : (used + add > 0 ? -1 : 0);
  return Math.min(
    share(cap.cpus, held.cpus, request.cpus),
    share(cap.memory_mb, held.memory_mb, request.memory_mb),
    share(cap.disk_mb, held.disk_mb, request.disk_mb),
    share(cap.max_workspaces, held.workspaces, 1),
  );
}

/**
 * Best of `k` by free capacity (see the header). `random()` in [0, 1) picks the sample.
 * No ready node → 409 HOST_CAPACITY_REACHED with `details.limit` `ready_nodes`; ready nodes
 * but none with room → the same code with `details.limit` `node_capacity`.
 */
export function placeWorkspace(
  nodes: readonly NodeRecord[], allocations: readonly NodeAllocation[], request: Demand, k: number, random: () => number,
): NodeRecord {
  const held = new Map(allocations.map((a) => [a.node_id, a]));
  const ready = nodes.filter((n) => n.state === 'ready');
  if (ready.length === 0) {
    throw new AppError('HOST_CAPACITY_REACHED', 'No node is ready to take workspaces', { limit: 'ready_nodes' });
  }
  const fits = ready
    .map((node) => ({ node, free: freeShare(node.capacity, held.get(node.id) ?? EMPTY, request) }))
    .filter((c) => c.free >= 0)
    .sort((a, b) => (a.node.id < b.node.id ? -1 : 1));
  if (fits.length === 0) {
    throw new AppError('HOST_CAPACITY_REACHED', 'No ready node has room for this workspace', {
      limit: 'node_capacity', cpus: request.cpus, memory_mb: request.memory_mb, disk_mb: request.disk_mb,
    });
  }
  // Partial Fisher–Yates: the first `k` entries become a uniform sample without repeats.
  const sample = Math.min(Math.max(1, Math.floor(k)), fits.length);
  for (let i = 0; i < sample; i++) {
    const j = i + Math.floor(random() * (fits.length - i));
    [fits[i], fits[j]] = [fits[j]!, fits[i]!];
  }
  let best = fits[0]!;
  for (const c of fits.slice(1, sample)) {
    if (c.free > best.free || (c.free === best.free && c.node.id < best.node.id)) best = c;
  }
  return best.node;
}

/** `allocations` with the batch's placements added to their nodes (placements on no node are ignored). */
export function withBatch(allocations: readonly NodeAllocation[], batch: readonly PlacedDemand[]): NodeAllocation[] {
  const held = new Map(allocations.map((a) => [a.node_id, { ...a }]));
  for (const { nodeId, demand } of batch) {
    if (nodeId === null) continue;
    const a = held.get(nodeId) ?? { node_id: nodeId, ...EMPTY };
    a.cpus += demand.cpus;
    a.memory_mb += demand.memory_mb;
    a.disk_mb += demand.disk_mb;
    a.workspaces += 1;
    held.set(nodeId, a);
  }
  return [...held.values()];
}

/** 409 cross_node_link when two linked workspaces are on different nodes (no cross-node overlay yet). */
export function checkSameNode(a: { id: string; nodeId: string | null }, b: { id: string; nodeId: string | null }): void {
  if (a.nodeId !== b.nodeId) {
    throw new AppError('cross_node_link', 'Private links between workspaces on different nodes are not supported yet', {
      field: 'private_link_ids', workspace_id: b.id,
    });
  }
}

/** A node with what its workspaces hold (GET /nodes, `warren nodes`). */
export interface NodeView extends NodeRecord {
  allocated: Omit<NodeAllocation, 'node_id'>;
  /** Milliseconds since the last heartbeat at the time of the read. */
  heartbeat_age_ms: number;
}

export interface NodeRegistryOptions {
  store: Store;
  settings?: Partial<NodeRegistrySettings>;
  now?: () => Date;
  random?: () => number;
}

export class NodeRegistry {
  private readonly store: Store;
  readonly settings: NodeRegistrySettings;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(o: NodeRegistryOptions) {
    this.store = o.store;
    this.settings = { lostAfterMs: DEFAULT_LOST_AFTER_MS, placementK: DEFAULT_PLACEMENT_K, ...o.settings };
    this.now = o.now ?? (() => new Date());
    this.random = o.random ?? Math.random;
  }

  /**
   * Idempotent. A new node is `ready`; a known one keeps its registration time and, when it
   * was draining, stays draining; a lost one is `ready` again with its workspaces
   * (`readopted`: they still name it). The registration is taken as given: whoever reads it
   * from the node (its registration path) checks the subnet (src/network/addresses.ts parseSubnet).
   */
  async register(reg: NodeRegistration): Promise<{ node: NodeRecord; readopted: boolean }> {
    const before = await this.store.getNode(reg.id);
    const node = await this.store.registerNode(reg, this.now().toISOString());
    return { node, readopted: before?.state === 'lost' };
  }

  /**
   * One row write. `observed`: the node's capacity now (it may change, e.g. disk). Unknown
   * node → 404 node_not_found; a lost node → 503 node_lost (it must register again).
   */
  async heartbeat(id: string, observed?: NodeCapacity): Promise<NodeRecord> {
    const node = await this.store.heartbeatNode(id, this.now().toISOString(), observed);
    if (node) return node;
    await this.get(id); // node_not_found when unknown
    throw new AppError('node_lost', `Node ${id} was marked lost; it must register again`, { node_id: id });
  }

  /** Marks lost every ready or draining node silent for longer than lostAfterMs; returns their ids (for the leader). */
  async sweepLost(now: Date = this.now()): Promise<string[]> {
    return this.store.markNodesLost(new Date(now.getTime() - this.settings.lostAfterMs).toISOString());
  }

  /** No new placements; its workspaces keep running. A lost node → 409 invalid_state. */
  async drain(id: string): Promise<NodeRecord> {
    return this.moveTo(id, 'draining');
  }

  /** Takes placements again. A lost node → 409 invalid_state (it comes back by registering). */
  async undrain(id: string): Promise<NodeRecord> {
    return this.moveTo(id, 'ready');
  }

  async get(id: string): Promise<NodeRecord> {
    const node = await this.store.getNode(id);
    if (!node) throw new AppError('node_not_found', `No node ${id}`, { field: 'id' });
    return node;
  }

  async view(id: string): Promise<NodeView> {
    const node = await this.get(id);
    const alloc = (await this.store.nodeAllocations()).find((a) => a.node_id === id);
    return this.viewOf(node, alloc);
  }

  /** Every node with its allocation, by id. */
  async list(): Promise<NodeView[]> {
    const [nodes, allocations] = await Promise.all([this.store.listNodes(), this.store.nodeAllocations()]);
    const held = new Map(allocations.map((a) => [a.node_id, a]));
    return nodes.map((n) => this.viewOf(n, held.get(n.id)));
  }

  /**
   * The node for a new workspace of `request` (see placeWorkspace). `batch`: placements made
   * earlier in the same reservation, not in the store yet; they hold room like stored ones.
   */
  async place(request: Demand, k: number = this.settings.placementK, batch: readonly PlacedDemand[] = []): Promise<NodeRecord> {
    const [nodes, allocations] = await Promise.all([this.store.listNodes(), this.store.nodeAllocations()]);
    return placeWorkspace(nodes, withBatch(allocations, batch), request, k, this.random);
  }

  /**
   * Throws 503 node_lost when the workspace's node is lost (or no longer registered): its
   * sandbox may well be running, but nothing can reach it until the node returns. A workspace
   * of the local host (nodeId null) always passes.
   */
  async assertReachable(rec: { id: string; nodeId: string | null }): Promise<void> {
    if (rec.nodeId === null) return;
    const node = await this.store.getNode(rec.nodeId);
    if (!node || node.state === 'lost') {
      throw new AppError('node_lost', `The node of workspace ${rec.id} is not reachable; retry once it returns`, {
        node_id: rec.nodeId, retry_after: Math.ceil(EXPECTED_HEARTBEAT_MS / 1000),
      });
    }
  }

  private async moveTo(id: string, state: 'ready' | 'draining'): Promise<NodeRecord> {
    const node = await this.store.setNodeState(id, state, ['ready', 'draining']);
    if (!node) throw new AppError('node_not_found', `No node ${id}`, { field: 'id' });
    if (node.state !== state) {
      throw new AppError('invalid_state', `Node ${id} is ${node.state}; it must register again first`, { field: 'state', state: node.state });
    }
    return node;
  }

  private viewOf(node: NodeRecord, alloc: NodeAllocation | undefined): NodeView {
    const { node_id: _id, ...allocated } = alloc ?? { node_id: node.id, ...EMPTY };
    return { ...node, allocated, heartbeat_age_ms: Math.max(0, this.now().getTime() - Date.parse(node.heartbeat_at)) };
  }
}
