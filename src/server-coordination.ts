/**
 * Wiring of the coordination between replicas (issue 16): PostgreSQL's (leases, advisory locks,
 * LISTEN/NOTIFY; src/coordination/postgres.ts) when the store is PostgreSQL (`--database-url`),
 * else the in-process one of a single host (src/coordination/local.ts). Returned started: a
 * replica has made its first leadership attempt before the domain starts its leader tasks.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { CoordinationPort } from './domain/ports.js';
import { LocalCoordination } from './coordination/local.js';
import { PostgresCoordination } from './coordination/postgres.js';
import { loadOrCreateKeyFile } from './storage/secret-files.js';

/**
 * This server's identity among those sharing a database (coordination's instance id, the
 * `node_id` its workspaces carry): random, made once and kept in the data dir (`node-id`).
 * Not `cfg.instanceId`, a 4-hex hash of the data dir's path that names kernel objects: two
 * hosts with the same `--data-dir` would share it. A single host keeps `cfg.instanceId`.
 * A node daemon's id is this too (or its `--node-id`): the registry's id and its workspaces' `node_id`.
 */
export function replicaIdFor(cfg: WarrenConfig): string {
  if (!cfg.databaseUrl) return cfg.instanceId;
  // `warren node --node-id`: the operator names the node (it must stay the same across restarts).
  if (cfg.role === 'node' && cfg.node?.nodeId) return cfg.node.nodeId;
  return `n${loadOrCreateKeyFile(join(cfg.dataDir, 'node-id'), 8).toString('hex')}`;
}

export async function openCoordination(cfg: WarrenConfig, log: Logger): Promise<CoordinationPort> {
  const coordination = cfg.databaseUrl
    ? await PostgresCoordination.open(cfg.databaseUrl, {
      instanceId: replicaIdFor(cfg),
      campaign: cfg.role !== 'node', // a node never leads: the control replicas run the schedulers
      log: (level, msg, fields) => log[level]({ component: 'coordination', ...fields }, msg),
    })
    : new LocalCoordination(cfg.instanceId, (topic, err) => log.error({ topic, err }, 'a bus subscriber failed'));
  try {
    await coordination.start();
  } catch (err) {
    await coordination.close().catch(() => {});
    throw err;
  }
  return coordination;
}
