/**
 * The `nodes` table of the SQLite store (migrations 11 and 13) and the per-node allocation totals
 * over `workspaces.node_id`. Row mappers are shared with postgres-nodes.ts (same columns).
 * Contracts are those of the Store interface (store.ts, "The node registry").
 */
import Database from 'better-sqlite3';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';

export const NODE_COLUMNS = 'id, name, address, cpus, memory_mb, disk_mb, max_workspaces, labels, state, heartbeat_at, registered_at, version, subnet';

/** One `nodes` row as both stores hand it back. */
export interface NodeRow {
  id: string;
  name: string;
  address: string;
  cpus: number;
  memory_mb: number;
  disk_mb: number;
  max_workspaces: number;
  labels: string;
  state: string;
  heartbeat_at: string;
  registered_at: string;
  version: string;
  subnet: string;
}

export function toNode(r: NodeRow): NodeRecord {
  return {
    id: r.id, name: r.name, address: r.address,
    capacity: { cpus: r.cpus, memory_mb: r.memory_mb, disk_mb: r.disk_mb, max_workspaces: r.max_workspaces },
    labels: JSON.parse(r.labels) as Record<string, string>,
    state: r.state as NodeState, heartbeat_at: r.heartbeat_at, registered_at: r.registered_at, version: r.version,
    subnet: r.subnet,
  };
}

/** The registration's values in NODE_COLUMNS order (state ready, heartbeat and registration at `at`). */
export function registrationValues(reg: NodeRegistration, at: string): Array<string | number> {
  const c = reg.capacity;
  return [reg.id, reg.name, reg.address, c.cpus, c.memory_mb, c.disk_mb, c.max_workspaces, JSON.stringify(reg.labels), 'ready', at, at, reg.version, reg.subnet];
}

/**
 * The upsert's update part (same text for both stores): `registered_at` kept, draining
 * stays draining, anything else becomes ready.
 */
export const REGISTER_UPDATE = `name = excluded.name, address = excluded.address, cpus = excluded.cpus,
  memory_mb = excluded.memory_mb, disk_mb = excluded.disk_mb, max_workspaces = excluded.max_workspaces,
  labels = excluded.labels, version = excluded.version, subnet = excluded.subnet, heartbeat_at = excluded.heartbeat_at,
  state = CASE WHEN nodes.state = 'draining' THEN 'draining' ELSE 'ready' END`;

/** Per-node totals; `cfg(key)` is the store's SQL for a numeric config field. Archived workspaces hold nothing on a node. */
export const allocationsSql = (cfg: (key: string) => string) => `SELECT node_id, COUNT(*) AS workspaces,
  COALESCE(SUM(${cfg('cpus')}), 0) AS cpus, COALESCE(SUM(${cfg('memory_mb')}), 0) AS memory_mb,
  COALESCE(SUM(${cfg('disk_size_mb')}), 0) AS disk_mb
  FROM workspaces WHERE node_id IS NOT NULL AND state <> 'archived' GROUP BY node_id ORDER BY node_id`;

export class NodeTables {
  constructor(private readonly db: Database.Database) {}

  register(reg: NodeRegistration, at: string): NodeRecord {
    this.db.prepare(`INSERT INTO nodes (${NODE_COLUMNS}) VALUES (${NODE_COLUMNS.split(',').map(() => '?').join(', ')})
      ON CONFLICT (id) DO UPDATE SET ${REGISTER_UPDATE}`).run(...registrationValues(reg, at));
    return this.get(reg.id)!;
  }

  heartbeat(id: string, at: string, capacity?: NodeCapacity): NodeRecord | null {
    const changed = capacity === undefined
      ? this.db.prepare("UPDATE nodes SET heartbeat_at = ? WHERE id = ? AND state <> 'lost'").run(at, id).changes
      : this.db.prepare(`UPDATE nodes SET heartbeat_at = ?, cpus = ?, memory_mb = ?, disk_mb = ?, max_workspaces = ?
          WHERE id = ? AND state <> 'lost'`).run(at, capacity.cpus, capacity.memory_mb, capacity.disk_mb, capacity.max_workspaces, id).changes;
    return changed === 0 ? null : this.get(id);
  }

  get(id: string): NodeRecord | null {
    const row = this.db.prepare(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ?`).get(id) as NodeRow | undefined;
    return row ? toNode(row) : null;
  }

  list(): NodeRecord[] {
    return (this.db.prepare(`SELECT ${NODE_COLUMNS} FROM nodes ORDER BY id`).all() as NodeRow[]).map(toNode);
  }

  setState(id: string, state: NodeState, onlyFrom?: readonly NodeState[]): NodeRecord | null {
    const from = onlyFrom ?? ['ready', 'draining', 'lost'];
    this.db.prepare(`UPDATE nodes SET state = ? WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`).run(state, id, ...from);
    return this.get(id);
  }

  markLost(before: string): string[] {
    const rows = this.db.prepare(`UPDATE nodes SET state = 'lost' WHERE state IN ('ready', 'draining') AND heartbeat_at < ?
      RETURNING id`).all(before) as Array<{ id: string }>;
    return rows.map((r) => r.id).sort();
  }

  allocations(): NodeAllocation[] {
    return this.db.prepare(allocationsSql((k) => `json_extract(config, '$.${k}')`)).all() as NodeAllocation[];
  }
}
