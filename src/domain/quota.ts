/**
 * Quotas by reservation. A workspace reserves its cpus / memory / disk in the owned
 * pool from the moment its record exists (creating included), and in the running
 * pool while its processes exist. Checks and the writes that make a reservation (the
 * insert of a create, the `starting` intent of a start) happen under one lock (see
 * WorkspaceService), so two concurrent requests cannot both take the last slot; the
 * records are the reservations, so they survive a restart.
 *
 * Pools and counts apply globally and, where the operator configured them, per
 * namespace (`namespaces` by slug, else `namespaceDefault` for every namespace).
 * Plan limits bound each workspace's size (403 RESOURCE_NOT_ALLOWED).
 */
import { AppError } from '../contract/errors.js';
import type { ResourceLimits } from '../contract/workspace.js';
import type { ReservationRow } from '../store/store.js';

/** What the checks read of a workspace: a full record or the store's cheap reservation row. */
export type Held = Pick<ReservationRow, 'id' | 'namespace' | 'state' | 'config'>;

export interface Pool {
  cpus: number;
  memory_mb: number;
  disk_mb: number;
}

/** What one namespace may hold together; absent fields are not limited at that level. */
export interface NamespacePoolPolicy {
  maxSandboxes?: number;
  pool?: Partial<Pool>;
  runningPool?: Partial<Pool>;
}

export interface QuotaPolicy {
  plan: string;
  planLabel: string;
  limits: ResourceLimits;
  pool: Pool;
  runningPool: Pool;
  maxSandboxes: number;
  /** Per-namespace pools by slug (operator configuration). */
  namespaces?: Record<string, NamespacePoolPolicy>;
  /** Pools of every namespace not named in `namespaces`; null: none. */
  namespaceDefault?: NamespacePoolPolicy | null;
}

export interface Demand {
  cpus: number;
  memory_mb: number;
  disk_mb: number;
}

const RUNNING_STATES = new Set(['creating', 'starting', 'running', 'pausing', 'paused', 'resuming', 'restarting']);

export function demandOf(rec: Pick<Held, 'config'>): Demand {
  return { cpus: rec.config.cpus, memory_mb: rec.config.memory_mb, disk_mb: rec.config.disk_size_mb };
}

/** Adds `d` to `pool` in place (a reservation). */
export function addDemand(pool: Pool, d: Demand): void {
  pool.cpus += d.cpus;
  pool.memory_mb += d.memory_mb;
  pool.disk_mb += d.disk_mb;
}

function sum(recs: Held[]): Pool {
  const total: Pool = { cpus: 0, memory_mb: 0, disk_mb: 0 };
  for (const r of recs) addDemand(total, demandOf(r));
  return total;
}

export interface Usage {
  pool: Pool;
  running: Pool;
  count: number;
}

export function usageOf(all: Held[], exceptId?: string): Usage {
  const others = exceptId ? all.filter((r) => r.id !== exceptId) : all;
  return {
    pool: sum(others),
    running: sum(others.filter((r) => RUNNING_STATES.has(r.state))),
    count: others.length,
  };
}

const UNLIMITED: Pool = { cpus: Infinity, memory_mb: Infinity, disk_mb: Infinity };

/** The policy a namespace's workspaces are held to together, or null when it has none. */
export function namespacePolicy(policy: QuotaPolicy, slug: string | null): QuotaPolicy | null {
  if (!slug) return null;
  const ns = policy.namespaces?.[slug] ?? policy.namespaceDefault;
  if (!ns) return null;
  return {
    ...policy,
    maxSandboxes: ns.maxSandboxes ?? Infinity,
    pool: { ...UNLIMITED, ...ns.pool },
    runningPool: { ...UNLIMITED, ...ns.runningPool },
  };
}

/** 403 RESOURCE_NOT_ALLOWED when a workspace's size is outside the operator's plan limits. */
export function checkPlanLimits(limits: ResourceLimits, d: Demand): void {
  const check = (n: number, lim: ResourceLimits[keyof ResourceLimits], field: string) => {
    if (n < lim.min || n > lim.max) {
      throw new AppError('RESOURCE_NOT_ALLOWED', `${field} must be between ${lim.min} and ${lim.max} on this plan`, { field });
    }
  };
  check(d.cpus, limits.cpus, 'cpus');
  check(d.memory_mb, limits.memory_mb, 'memory_mb');
  check(d.disk_mb, limits.writable_size_mb, 'writable_size_mb');
}

/**
 * Checks new workspaces of `inputs` against the plan limits and the global and namespace
 * pools, as one reservation (all or none): each counts against the next.
 */
export function checkReservation(policy: QuotaPolicy, all: Held[], inputs: Array<Pick<Held, 'namespace' | 'config'>>): void {
  const global = usageOf(all);
  const perNamespace = new Map<string, { policy: QuotaPolicy; usage: Usage }>();
  for (const input of inputs) {
    const demand = demandOf(input);
    checkPlanLimits(policy.limits, demand);
    const nsPolicy = namespacePolicy(policy, input.namespace);
    if (nsPolicy && input.namespace) {
      let entry = perNamespace.get(input.namespace);
      if (!entry) perNamespace.set(input.namespace, (entry = { policy: nsPolicy, usage: usageOf(all.filter((r) => r.namespace === input.namespace)) }));
      take(entry.policy, entry.usage, demand);
    }
    take(policy, global, demand);
  }
}

function take(policy: QuotaPolicy, usage: Usage, demand: Demand): void {
  checkCreate(policy, usage, demand);
  usage.count += 1;
  addDemand(usage.pool, demand);
  addDemand(usage.running, demand);
}

/** Starting `rec` (not live now) must fit the running pools, global and its namespace's. */
export function checkStartFits(policy: QuotaPolicy, all: Held[], rec: Held): void {
  checkRunning(policy, usageOf(all, rec.id), demandOf(rec));
  const nsPolicy = namespacePolicy(policy, rec.namespace);
  if (nsPolicy) checkRunning(nsPolicy, usageOf(all.filter((r) => r.namespace === rec.namespace), rec.id), demandOf(rec));
}

/** A resize to `next` must fit the plan limits and the pools (the count is not a resize's business). */
export function checkResizeFits(policy: QuotaPolicy, all: Held[], next: Held): void {
  const demand = demandOf(next);
  checkPlanLimits(policy.limits, demand);
  checkCreate({ ...policy, maxSandboxes: Infinity }, usageOf(all, next.id), demand);
  const nsPolicy = namespacePolicy(policy, next.namespace);
  if (nsPolicy) checkCreate({ ...nsPolicy, maxSandboxes: Infinity }, usageOf(all.filter((r) => r.namespace === next.namespace), next.id), demand);
}

/** GET /workspace/quota for the admin (null: everything) or one namespace's callers. */
export function quotaFor(policy: QuotaPolicy, all: Held[], namespace: string | null): Record<string, unknown> {
  const global = usageOf(all);
  if (namespace === null) return quotaView(policy, global);
  const nsPolicy = namespacePolicy(policy, namespace);
  const own = usageOf(all.filter((r) => r.namespace === namespace));
  // A namespace's callers see their own counts, against their namespace's pools or else the global ones.
  const view = quotaView(nsPolicy ?? policy, own);
  if (view.canCreate && global.count >= policy.maxSandboxes) Object.assign(view, { canCreate: false, reason: 'SANDBOX_LIMIT_REACHED' });
  return { ...view, namespace, namespace_usage: { pool: own.pool, running_pool: own.running, workspaces: own.count } };
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

const finite = (p: Pool): Record<keyof Pool, number | null> => ({
  cpus: Number.isFinite(p.cpus) ? p.cpus : null, memory_mb: Number.isFinite(p.memory_mb) ? p.memory_mb : null, disk_mb: Number.isFinite(p.disk_mb) ? p.disk_mb : null,
});

export function quotaView(policy: QuotaPolicy, usage: Usage): Record<string, unknown> {
  let reason: string | null = null;
  if (usage.count >= policy.maxSandboxes) reason = 'SANDBOX_LIMIT_REACHED';
  return {
    plan: policy.plan,
    planLabel: policy.planLabel,
    limits: policy.limits,
    pool: finite(policy.pool),
    pool_usage: usage.pool,
    running_pool: finite(policy.runningPool),
    running_pool_usage: usage.running,
    maxSandboxes: Number.isFinite(policy.maxSandboxes) ? policy.maxSandboxes : null,
    currentSandboxes: usage.count,
    canCreate: reason === null,
    reason,
  };
}
