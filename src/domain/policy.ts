/**
 * The operator's quota policy. Self-hosted Warren has one "plan": the limits of
 * seed 004 and pools sized from this host (memory from the machine, disk from the
 * data dir's filesystem), unless the quota file (src/config/quota-file.ts) says
 * otherwise; environment variables override each global number. Namespace pools come
 * from the quota file only.
 */
import { DEFAULT_LIMITS } from '../contract/workspace.js';
import type { WarrenConfig } from '../config/config.js';
import type { HostFacts } from './ports.js';
import type { QuotaPolicy } from './quota.js';

function envNumber(name: string, dflt: number | undefined, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt ?? fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
}

/** `host`: this machine's facts (src/host/probe.ts). */
export function defaultPolicy(cfg: WarrenConfig, host: HostFacts): QuotaPolicy {
  const { memoryMb: memMb, diskMb, cores } = host;
  const f = cfg.quota;
  return {
    plan: f.plan ?? 'self-hosted',
    planLabel: f.planLabel ?? 'Self-hosted',
    limits: { ...DEFAULT_LIMITS, ...f.limits },
    // Owned pool: what all workspaces may reserve, stopped ones included (disk is sparse).
    pool: {
      cpus: envNumber('WARREN_POOL_CPUS', f.pool?.cpus, cores * 64),
      memory_mb: envNumber('WARREN_POOL_MEMORY_MB', f.pool?.memory_mb, memMb * 4),
      disk_mb: envNumber('WARREN_POOL_DISK_MB', f.pool?.disk_mb, diskMb * 4),
    },
    // Running pool: CPU is shared (quota, not pinning); memory is the machine's.
    runningPool: {
      cpus: envNumber('WARREN_RUNNING_CPUS', f.runningPool?.cpus, cores * 32),
      memory_mb: envNumber('WARREN_RUNNING_MEMORY_MB', f.runningPool?.memory_mb, memMb * 2),
      disk_mb: envNumber('WARREN_RUNNING_DISK_MB', f.runningPool?.disk_mb, diskMb * 4),
    },
    maxSandboxes: envNumber('WARREN_MAX_WORKSPACES', f.maxSandboxes, 500),
    namespaces: f.namespaces ?? {},
    namespaceDefault: f.namespaceDefault ?? null,
  };
}
