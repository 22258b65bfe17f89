/**
 * The operator's quota policy. Self-hosted Warren has one "plan": the limits of
 * seed 004 and pools sized from this host (memory from the machine, disk from the
 * data dir's filesystem). Environment variables override each number.
 */
import { statfs } from 'node:fs/promises';
import { totalmem, availableParallelism } from 'node:os';
import { DEFAULT_LIMITS } from '../contract/workspace.js';
import type { WarrenConfig } from '../config/config.js';
import type { QuotaPolicy } from './quota.js';

function envNumber(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
}

export async function defaultPolicy(cfg: WarrenConfig): Promise<QuotaPolicy> {
  const memMb = Math.floor(totalmem() / (1024 * 1024));
  const fs = await statfs(cfg.dataDir);
  const diskMb = Math.floor((fs.blocks * fs.bsize) / (1024 * 1024));
  const cores = availableParallelism();
  return {
    plan: 'self-hosted',
    planLabel: 'Self-hosted',
    limits: DEFAULT_LIMITS,
    // Owned pool: what all workspaces may reserve, stopped ones included (disk is sparse).
    pool: {
      cpus: envNumber('WARREN_POOL_CPUS', cores * 64),
      memory_mb: envNumber('WARREN_POOL_MEMORY_MB', memMb * 4),
      disk_mb: envNumber('WARREN_POOL_DISK_MB', diskMb * 4),
    },
    // Running pool: CPU is shared (quota, not pinning); memory is the machine's.
    runningPool: {
      cpus: envNumber('WARREN_RUNNING_CPUS', cores * 32),
      memory_mb: envNumber('WARREN_RUNNING_MEMORY_MB', memMb * 2),
      disk_mb: envNumber('WARREN_RUNNING_DISK_MB', diskMb * 4),
    },
    maxSandboxes: envNumber('WARREN_MAX_WORKSPACES', 500),
  };
}
