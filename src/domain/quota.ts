/**
 * Quotas by reservation. A workspace reserves its cpus / memory / disk in the owned
 * pool from the moment its record exists (creating included), and in the running
 * pool while its processes exist. Checks and the insert that makes a reservation
 * happen under one lock (see WorkspaceService), so two concurrent creates cannot
 * both take the last slot.
 */
import { AppError } from '../contract/errors.js';
import type { ResourceLimits } from '../contract/workspace.js';
import type { WorkspaceRecord } from '../store/store.js';

export interface Pool {
  cpus: number;
  memory_mb: number;
  disk_mb: number;
}

export interface QuotaPolicy {
  plan: string;
  planLabel: string;
  limits: ResourceLimits;
  pool: Pool;
  runningPool: Pool;
  maxSandboxes: number;
}

export interface Demand {
  cpus: number;
  memory_mb: number;
  disk_mb: number;
}

const RUNNING_STATES = new Set(['creating', 'starting', 'running', 'pausing', 'paused', 'resuming', 'restarting']);

export function demandOf(rec: Pick<WorkspaceRecord, 'config'>): Demand {
  return { cpus: rec.config.cpus, memory_mb: rec.config.memory_mb, disk_mb: rec.config.disk_size_mb };
}

/** Adds `d` to `pool` in place (a reservation). */
export function addDemand(pool: Pool, d: Demand): void {
  pool.cpus += d.cpus;
  pool.memory_mb += d.memory_mb;
  pool.disk_mb += d.disk_mb;
}

function sum(recs: WorkspaceRecord[]): Pool {
  const total: Pool = { cpus: 0, memory_mb: 0, disk_mb: 0 };
  for (const r of recs) addDemand(total, demandOf(r));
  return total;
}

export interface Usage {
  pool: Pool;
  running: Pool;
  count: number;
}

export function usageOf(all: WorkspaceRecord[], exceptId?: string): Usage {
  const others = exceptId ? all.filter((r) => r.id !== exceptId) : all;
  return {
    pool: sum(others),
    running: sum(others.filter((r) => RUNNING_STATES.has(r.state))),
    count: others.length,
  };
}

function exceeds(used: Pool, add: Demand, cap: Pool): keyof Pool | null {
  if (used.cpus + add.cpus > cap.cpus) return 'cpus';
  if (used.memory_mb + add.memory_mb > cap.memory_mb) return 'memory_mb';
  if (used.disk_mb + add.disk_mb > cap.disk_mb) return 'disk_mb';
  return null;
}

/** Throws the seed's codes when a new workspace of `demand` would not fit. */
export function checkCreate(policy: QuotaPolicy, usage: Usage, demand: Demand): void {
  if (usage.count >= policy.maxSandboxes) {
    throw new AppError('SANDBOX_LIMIT_REACHED', `Workspace limit of ${policy.maxSandboxes} reached`, {
      limit: policy.maxSandboxes,
    });
  }
  const owned = exceeds(usage.pool, demand, policy.pool);
  if (owned) {
    throw new AppError('POOL_LIMIT_REACHED', `Owned resource pool is full (${owned})`, { field: owned });
  }
  checkRunning(policy, usage, demand);
}

/** Throws when starting (or resizing to) `demand` would overflow the running pool. */
export function checkRunning(policy: QuotaPolicy, usage: Usage, demand: Demand): void {
  const running = exceeds(usage.running, demand, policy.runningPool);
  if (running) {
    throw new AppError('RUNNING_POOL_REACHED', `Running resource pool is full (${running})`, { field: running });
  }
}

export function quotaView(policy: QuotaPolicy, usage: Usage): Record<string, unknown> {
  let reason: string | null = null;
  if (usage.count >= policy.maxSandboxes) reason = 'SANDBOX_LIMIT_REACHED';
  return {
    plan: policy.plan,
    planLabel: policy.planLabel,
    limits: policy.limits,
    pool: policy.pool,
    pool_usage: usage.pool,
    running_pool: policy.runningPool,
    running_pool_usage: usage.running,
    maxSandboxes: policy.maxSandboxes,
    currentSandboxes: usage.count,
    canCreate: reason === null,
    reason,
  };
}
