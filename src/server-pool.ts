/**
 * Composition of the warm pool (src/domain/warm-pool.ts): on when `--warm-pool` > 0 and the
 * driver can hand a running sandbox over (AdoptingDriver). Waiting sandboxes get the
 * default size of a new workspace (adoption sets the workspace's own).
 */
import { canAdopt } from './drivers/driver.js';
import { defaultConfig } from './contract/workspace.js';
import type { WarrenConfig } from './config/config.js';
import type { DomainDeps } from './domain/ports.js';
import type { QuotaPolicy } from './domain/quota.js';
import { WarmPool, type WarmPoolOptions } from './domain/warm-pool.js';

export function createWarmPool(
  cfg: WarrenConfig, deps: DomainDeps, policy: QuotaPolicy, hooks: Pick<WarmPoolOptions, 'reserveAddress' | 'busy'>,
): WarmPool | null {
  if (cfg.warmPool.size === 0 || !canAdopt(deps.driver)) return null;
  const defaults = defaultConfig(policy.limits);
  return new WarmPool(deps, {
    size: cfg.warmPool.size,
    maxImages: cfg.warmPool.images,
    resources: { cpus: defaults.cpus, memoryMb: defaults.memory_mb, diskMb: defaults.disk_size_mb },
    ...hooks,
  });
}
