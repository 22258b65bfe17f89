/**
 * Namespace quotas (control-plane.md §21 "Namespace quotas"): credits a namespace's
 * workspaces may spend per service, and default quotas given to new namespaces.
 *
 * - Used = credits (the operator's price table, `creditsOf`) of the usage of the
 *   namespace's current workspaces in minute buckets starting at or after `usage_since`
 *   (the set or the last reset; quotas never reset by themselves). A reset therefore
 *   counts from the next minute bucket. Workspaces that were deleted no longer count.
 * - Exceeded = used ≥ quota_limit + overdraft on an enabled quota. Then new workspace
 *   creates and starts in the namespace are refused with 402 QUOTA_EXCEEDED (both
 *   actions: `admit`, called by NamespaceGate); with `stop_workspaces` the periodic
 *   `enforce` also stops its live workspaces.
 * - Thresholds (percent of the limit; null = 80, 95): `enforce` notes each newly crossed
 *   one in the namespace's activity (`quota_threshold`) and keeps the highest fired.
 * - Both services meter the same credits (Warren has one kind of workspace).
 */
import { AppError } from '../contract/errors.js';
import { DEFAULT_THRESHOLDS, type QuotaService, type SetDefaultQuotaCommand, type SetQuotaCommand } from '../contract/quotas.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord, NamespaceRecord, Store, UsageAmounts } from '../store/store.js';
import { creditsOf, round, type PriceTable } from './pricing.js';
import { isLive } from './lifecycle.js';

export interface NamespaceQuotaDeps {
  store: Store;
  prices: () => PriceTable;
  /** Stops one workspace (the policy's stop: it counts as the operator's, not the user's). */
  stopWorkspace: (id: string) => Promise<unknown>;
}

export interface NamespaceWithQuotas {
  ns: NamespaceRecord;
  quotas: NamespaceQuotaRecord[];
  /** Credits of all recorded usage of its current workspaces. */
  total_spent: number;
  workspaces: number;
}

const DAY_MS = 86_400_000;
const ZERO: UsageAmounts = { cpu_seconds: 0, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 };

function sum(rows: UsageAmounts[]): UsageAmounts {
  const t = { ...ZERO };
  for (const r of rows) for (const k of Object.keys(t) as Array<keyof UsageAmounts>) t[k] += r[k];
  return t;
}

export function isExceeded(q: NamespaceQuotaRecord, used = q.quota_used): boolean {
  return q.enabled && used >= q.quota_limit + q.overdraft;
}

/** The highest threshold (percent of the limit) `used` has reached, or null. */
export function thresholdReached(q: NamespaceQuotaRecord, used: number): number | null {
  const list = q.notification_thresholds ?? DEFAULT_THRESHOLDS;
  const pct = q.quota_limit > 0 ? (used / q.quota_limit) * 100 : used > 0 ? Infinity : 0;
  const hit = list.filter((t) => pct >= t);
  return hit.length ? Math.max(...hit) : null;
}

export class NamespaceQuotas {
  constructor(private readonly d: NamespaceQuotaDeps) {}

  async set(cmd: SetQuotaCommand): Promise<{ ns: NamespaceRecord; quota: NamespaceQuotaRecord }> {
    const ns = await this.namespace(cmd.namespace);
    const prev = await this.d.store.getNamespaceQuota(ns.id, cmd.service);
    const now = new Date().toISOString();
    const q: NamespaceQuotaRecord = {
      namespace_id: ns.id, service: cmd.service, quota_limit: cmd.quotaLimit,
      quota_used: prev?.quota_used ?? 0,
      overdraft: cmd.overdraft ?? prev?.overdraft ?? 0,
      on_overdraft_action: cmd.onOverdraftAction ?? prev?.on_overdraft_action ?? 'block',
      notification_thresholds: cmd.notificationThresholds !== undefined ? cmd.notificationThresholds : prev?.notification_thresholds ?? null,
      last_threshold_fired: prev?.last_threshold_fired ?? null,
      enabled: cmd.enabled ?? prev?.enabled ?? true,
      usage_since: prev?.usage_since ?? now, created_at: prev?.created_at ?? now, updated_at: now,
    };
    q.quota_used = await this.used(ns, q.usage_since);
    await this.d.store.putNamespaceQuota(q);
    await this.note(ns, prev ? 'quota_updated' : 'quota_set', `Quota for ${q.service} set to ${q.quota_limit} credits`, { service: q.service, quota_limit: q.quota_limit, overdraft: q.overdraft });
    return { ns, quota: q };
  }

  /** Usage counts again from now; fired thresholds are forgotten. */
  async reset(namespace: string, service: QuotaService): Promise<{ ns: NamespaceRecord; quota: NamespaceQuotaRecord }> {
    const ns = await this.namespace(namespace);
    const prev = await this.d.store.getNamespaceQuota(ns.id, service);
    if (!prev) throw new AppError('not_found', `Namespace ${ns.slug} has no ${service} quota`, { field: 'service' });
    const now = new Date().toISOString();
    const quota = { ...prev, quota_used: 0, last_threshold_fired: null, usage_since: now, updated_at: now };
    await this.d.store.putNamespaceQuota(quota);
    await this.note(ns, 'quota_reset', `Quota usage for ${service} reset`, { service, quota_used_before: round(prev.quota_used) });
    return { ns, quota };
  }

  /** 402 QUOTA_EXCEEDED when an enabled quota of `ns` is used up (limit + overdraft). */
  async admit(ns: NamespaceRecord): Promise<void> {
    const quotas = (await this.d.store.listNamespaceQuotas(ns.id)).filter((q) => q.enabled);
    for (const q of await this.refreshed(ns, quotas)) {
      if (!isExceeded(q)) continue;
      throw new AppError('QUOTA_EXCEEDED', `Namespace ${ns.slug} has used its ${q.service} quota`, {
        field: 'namespace', namespace: ns.slug, service: q.service, quota_limit: q.quota_limit, overdraft: q.overdraft, quota_used: round(q.quota_used),
      });
    }
  }

  /** Periodic: refreshes every quota, fires thresholds, stops workspaces of exceeded `stop_workspaces` quotas. */
  async enforce(): Promise<{ stopped: string[] }> {
    const all = await this.d.store.listNamespaceQuotas();
    const stopped: string[] = [];
    for (const nsId of new Set(all.map((q) => q.namespace_id))) {
      const ns = await this.d.store.findNamespace(nsId);
      if (!ns) continue;
      const quotas = await this.refreshed(ns, all.filter((q) => q.namespace_id === nsId), true);
      if (quotas.some((q) => isExceeded(q) && q.on_overdraft_action === 'stop_workspaces')) stopped.push(...(await this.stopAll(ns)));
    }
    return { stopped };
  }

  async listWithQuotas(q: { limit: number; offset: number; status: string | null; search: string | null }): Promise<{ items: NamespaceWithQuotas[]; total: number }> {
    let all = await this.d.store.allNamespaces();
    if (q.status) all = all.filter((n) => n.status === q.status);
    if (q.search) all = all.filter((n) => `${n.name} ${n.slug} ${n.description ?? ''}`.toLowerCase().includes(q.search!));
    const items = await Promise.all(all.slice(q.offset, q.offset + q.limit).map((ns) => this.withQuotas(ns)));
    return { items, total: all.length };
  }

  /** Quotas, credits over the last `days` by component and by day, and its workspaces' share. */
  async details(idOrSlug: string, days: number): Promise<NamespaceWithQuotas & { usage: Record<string, unknown> }> {
    const ns = await this.namespace(idOrSlug, 'id');
    const base = await this.withQuotas(ns);
    const members = new Set((await this.members(ns)).map((w) => w.id));
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY_MS).toISOString();
    const rows = (await this.d.store.listUsage({ from, to: to.toISOString() }, 'day')).filter((r) => members.has(r.workspace_id));
    const byDay = new Map<string, UsageAmounts[]>();
    for (const r of rows) byDay.set(r.bucket_start, [...(byDay.get(r.bucket_start) ?? []), r]);
    const c = creditsOf(sum(rows), this.d.prices());
    const rounded = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, round(v)]));
    return {
      ...base,
      usage: {
        range: { from, to: to.toISOString() }, days, credits: rounded,
        services: { workspace_vm: round(c.total), sandbox: round(c.total) },
        timeline: [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([date, rs]) => ({ date, credits: round(creditsOf(sum(rs), this.d.prices()).total) })),
        transactions: [],
      },
    };
  }

  // Default quotas (level "namespace").

  async setDefault(cmd: SetDefaultQuotaCommand): Promise<DefaultQuotaRecord> {
    const prev = await this.d.store.getDefaultQuota('namespace', cmd.service);
    const now = new Date().toISOString();
    const d: DefaultQuotaRecord = {
      level: 'namespace', service: cmd.service, quota_limit: cmd.quotaLimit, overdraft: cmd.overdraft ?? prev?.overdraft ?? 0,
      on_overdraft_action: cmd.onOverdraftAction ?? prev?.on_overdraft_action ?? 'block', auto_apply: cmd.autoApply ?? prev?.auto_apply ?? false,
      enabled: cmd.enabled ?? prev?.enabled ?? true, created_at: prev?.created_at ?? now, updated_at: now,
    };
    await this.d.store.putDefaultQuota(d);
    return d;
  }

  async getDefault(service: QuotaService): Promise<DefaultQuotaRecord | null> {
    return this.d.store.getDefaultQuota('namespace', service);
  }

  async allDefaults(): Promise<DefaultQuotaRecord[]> {
    return this.d.store.listDefaultQuotas('namespace');
  }

  async deleteDefault(service: QuotaService): Promise<void> {
    if (!(await this.d.store.deleteDefaultQuota('namespace', service))) throw noDefault(service);
  }

  async toggleAutoApply(service: QuotaService, autoApply: boolean): Promise<DefaultQuotaRecord> {
    const prev = await this.getDefault(service);
    if (!prev) throw noDefault(service);
    const d = { ...prev, auto_apply: autoApply, updated_at: new Date().toISOString() };
    await this.d.store.putDefaultQuota(d);
    return d;
  }

  /** NamespaceService.create's hook: enabled auto-apply defaults become the new namespace's quotas. */
  async applyDefaults(ns: NamespaceRecord): Promise<void> {
    for (const d of await this.allDefaults()) {
      if (!d.auto_apply || !d.enabled || (await this.d.store.getNamespaceQuota(ns.id, d.service))) continue;
      await this.d.store.putNamespaceQuota({
        namespace_id: ns.id, service: d.service, quota_limit: d.quota_limit, quota_used: 0, overdraft: d.overdraft,
        on_overdraft_action: d.on_overdraft_action, notification_thresholds: null, last_threshold_fired: null, enabled: true,
        usage_since: ns.created_at, created_at: ns.created_at, updated_at: ns.created_at,
      });
      await this.note(ns, 'quota_set', `Default quota for ${d.service} applied (${d.quota_limit} credits)`, { service: d.service, quota_limit: d.quota_limit, default: true });
    }
  }

  /** NamespaceService.remove's hook: its quotas go with it. */
  async forget(ns: NamespaceRecord): Promise<void> {
    await this.d.store.deleteNamespaceQuotas(ns.id);
  }

  private async withQuotas(ns: NamespaceRecord): Promise<NamespaceWithQuotas> {
    const quotas = await this.refreshed(ns, await this.d.store.listNamespaceQuotas(ns.id));
    const members = await this.members(ns);
    return { ns, quotas, total_spent: members.length ? await this.used(ns, null) : 0, workspaces: members.length };
  }

  /** The quotas with `quota_used` recomputed and stored when it changed; `fire` also notes new thresholds. */
  private async refreshed(ns: NamespaceRecord, quotas: NamespaceQuotaRecord[], fire = false): Promise<NamespaceQuotaRecord[]> {
    const out: NamespaceQuotaRecord[] = [];
    for (const q of quotas) {
      const used = await this.used(ns, q.usage_since);
      const reached = fire && q.enabled ? thresholdReached(q, used) : null;
      const fired = reached !== null && (q.last_threshold_fired === null || reached > q.last_threshold_fired);
      const next = { ...q, quota_used: used, last_threshold_fired: fired ? reached : q.last_threshold_fired };
      if (next.quota_used !== q.quota_used || fired) await this.d.store.putNamespaceQuota(next);
      if (fired) {
        await this.note(ns, 'quota_threshold', `${q.service} quota reached ${reached}% (${round(used)} of ${q.quota_limit} credits)`, {
          service: q.service, threshold: reached, quota_used: round(used), quota_limit: q.quota_limit,
        });
      }
      out.push(next);
    }
    return out;
  }

  /** Credits of the namespace's current workspaces' usage in buckets from `since` (null: all). */
  private async used(ns: NamespaceRecord, since: string | null): Promise<number> {
    const members = new Set((await this.members(ns)).map((w) => w.id));
    if (members.size === 0) return 0;
    const rows = (await this.d.store.usageTotals({ from: since })).filter((r) => members.has(r.workspace_id));
    return creditsOf(sum(rows), this.d.prices()).total;
  }

  private async members(ns: NamespaceRecord) {
    return (await this.d.store.allWorkspaces()).filter((w) => w.namespace === ns.slug);
  }

  private async stopAll(ns: NamespaceRecord): Promise<string[]> {
    const stopped: string[] = [];
    for (const w of (await this.members(ns)).filter((r) => isLive(r.state))) {
      // One that cannot stop now (e.g. mid-operation) is retried at the next check; the others still stop.
      if (await this.d.stopWorkspace(w.id).then(() => true, () => false)) stopped.push(w.id);
    }
    if (stopped.length) await this.note(ns, 'quota_exceeded', `Quota exceeded: stopped ${stopped.length} workspace(s)`, { stopped_workspaces: stopped });
    return stopped;
  }

  private async namespace(idOrSlug: string, field = 'namespace'): Promise<NamespaceRecord> {
    const ns = await this.d.store.findNamespace(idOrSlug);
    if (!ns) throw new AppError('not_found', `Namespace ${idOrSlug} not found`, { field });
    return ns;
  }

  private async note(ns: NamespaceRecord, action: string, description: string, changes: Record<string, unknown>): Promise<void> {
    await this.d.store.addNamespaceActivity({ namespace_id: ns.id, action, description, changes, created_at: new Date().toISOString() });
  }
}

function noDefault(service: string): AppError {
  return new AppError('not_found', `No default quota for ${service}`, { field: 'service' });
}
