/**
 * Wiring of the coordination between replicas (issue 16): PostgreSQL's (leases, advisory locks,
 * LISTEN/NOTIFY; src/coordination/postgres.ts) when the store is PostgreSQL (`--database-url`),
 * else the in-process one of a single host (src/coordination/local.ts). Returned started: a
 * replica has made its first leadership attempt before the domain starts its leader tasks.
 */
import type { Logger } from 'pino';
import type { WarrenConfig } from './config/config.js';
import type { CoordinationPort } from './domain/ports.js';
import { LocalCoordination } from './coordination/local.js';
import { PostgresCoordination } from './coordination/postgres.js';

export async function openCoordination(cfg: WarrenConfig, log: Logger): Promise<CoordinationPort> {
  const coordination = cfg.databaseUrl
    ? await PostgresCoordination.open(cfg.databaseUrl, {
      instanceId: cfg.instanceId,
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
