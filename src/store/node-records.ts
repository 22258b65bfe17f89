/**
 * The node registry's records (issue 16): one row per host running `warren node`, keyed by
 * the id the node chose (stable across its restarts), and what each node's workspaces hold.
 * Meaning (states, placement, lost-after) lives in src/domain/nodes.ts.
 */

/** What a node can hold. `max_workspaces` bounds the count whatever their sizes. */
export interface NodeCapacity {
  cpus: number;
  memory_mb: number;
  disk_mb: number;
  max_workspaces: number;
}

/**
 * `ready`: takes new placements. `draining`: no new placements, its workspaces keep running.
 * `lost`: stopped heartbeating; its workspaces answer `node_lost` until it registers again.
 */
export type NodeState = 'ready' | 'draining' | 'lost';

/** What a node tells the registry about itself when it (re)starts. */
export interface NodeRegistration {
  /** Chosen by the node and kept across its restarts (so its workspaces are re-adopted). */
  id: string;
  name: string;
  /** host:port of the node's relay (gateway, edge and SSH traffic to its workspaces) and its node API. */
  address: string;
  /**
   * The node's sandbox subnet (CIDR, e.g. `10.214.0.0/24`): a control replica gives new
   * workspaces placed here an address in it (FleetBackend.allocateAddress). Subnets of
   * different nodes may overlap: addresses are unique across the fleet (the store's unique
   * `ip`), so a shared range is split between them. Empty for a node registered before
   * migration 13 until it registers again.
   */
  subnet: string;
  capacity: NodeCapacity;
  labels: Record<string, string>;
  /** Warren's version on the node. */
  version: string;
}

export interface NodeRecord extends NodeRegistration {
  state: NodeState;
  /** ISO-8601 UTC of the last heartbeat (or registration). */
  heartbeat_at: string;
  /** ISO-8601 UTC of the first registration; kept when the node registers again. */
  registered_at: string;
}

/** What one node's workspaces hold together (every workspace on it but archived ones). */
export interface NodeAllocation {
  node_id: string;
  cpus: number;
  memory_mb: number;
  disk_mb: number;
  workspaces: number;
}
