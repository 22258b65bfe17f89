/**
 * Migration 13 in both stores: `nodes.subnet`, each node's sandbox subnet (CIDR), where a
 * control replica takes the addresses of the workspaces it places there
 * (src/fleet/fleet-backend.ts). Rows registered before have '' until the node registers
 * again (every node registers at start), and no placement takes an address from ''.
 * The same statement is valid SQL for SQLite and PostgreSQL.
 */
export const NODE_SUBNET_MIGRATION = { version: 13, name: 'node sandbox subnet' } as const;

export const NODE_SUBNET_SQL = "ALTER TABLE nodes ADD COLUMN subnet TEXT NOT NULL DEFAULT ''";
