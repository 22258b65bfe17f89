/**
 * The `nodes` table of the PostgreSQL store, with the semantics of sqlite-nodes.ts (whose
 * row mapper and SQL fragments it shares: same columns). Each method is one statement.
 */
import type pg from 'pg';
import { placeholders } from './postgres-layers.js';
import { allocationsSql, NODE_COLUMNS, REGISTER_UPDATE, registrationValues, toNode, type NodeRow } from './sqlite-nodes.js';
import type { NodeAllocation, NodeCapacity, NodeRecord, NodeRegistration, NodeState } from './node-records.js';

export class PgNodeTables {
  constructor(private readonly pool: pg.Pool) {}

  async register(reg: NodeRegistration, at: string): Promise<NodeRecord> {
    const res = await this.pool.query<NodeRow>(`INSERT INTO nodes (${NODE_COLUMNS}) VALUES (${placeholders(NODE_COLUMNS.split(',').length)})
      ON CONFLICT (id) DO UPDATE SET ${REGISTER_UPDATE} RETURNING ${NODE_COLUMNS}`, registrationValues(reg, at));
    return toNode(res.rows[0]!);
  }

  async heartbeat(id: string, at: string, capacity?: NodeCapacity): Promise<NodeRecord | null> {
    const res = capacity === undefined
      ? await this.pool.query<NodeRow>(`UPDATE nodes SET heartbeat_at = $1 WHERE id = $2 AND state <> 'lost' RETURNING ${NODE_COLUMNS}`, [at, id])
      : await this.pool.query<NodeRow>(`UPDATE nodes SET heartbeat_at = $1, cpus = $3, memory_mb = $4, disk_mb = $5, max_workspaces = $6
          WHERE id = $2 AND state <> 'lost' RETURNING ${NODE_COLUMNS}`,
        [at, id, capacity.cpus, capacity.memory_mb, capacity.disk_mb, capacity.max_workspaces]);
    return res.rows[0] ? toNode(res.rows[0]) : null;
  }

  async get(id: string): Promise<NodeRecord | null> {
    const res = await this.pool.query<NodeRow>(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = $1`, [id]);
    return res.rows[0] ? toNode(res.rows[0]) : null;
  }

  async list(): Promise<NodeRecord[]> {
    return (await this.pool.query<NodeRow>(`SELECT ${NODE_COLUMNS} FROM nodes ORDER BY id`)).rows.map(toNode);
  }

  async setState(id: string, state: NodeState, onlyFrom?: readonly NodeState[]): Promise<NodeRecord | null> {
    const from = onlyFrom ?? ['ready', 'draining', 'lost'];
    await this.pool.query('UPDATE nodes SET state = $1 WHERE id = $2 AND state = ANY($3::text[])', [state, id, from]);
    return this.get(id);
  }

  async markLost(before: string): Promise<string[]> {
    const res = await this.pool.query<{ id: string }>(`UPDATE nodes SET state = 'lost'
      WHERE state IN ('ready', 'draining') AND heartbeat_at < $1 RETURNING id`, [before]);
    return res.rows.map((r) => r.id).sort();
  }

  async allocations(): Promise<NodeAllocation[]> {
    const res = await this.pool.query<NodeAllocation>(allocationsSql((k) => `(config::jsonb ->> '${k}')::double precision`));
    return res.rows;
  }
}
