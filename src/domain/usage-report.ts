/**
 * Usage as the API shows it (control-plane.md §13): series per bucket, totals, the
 * daily credits chart, usage of all workspaces, the estimate for a size, and the
 * tracking switch. Credits are always the price table × the recorded amounts.
 *
 * Shapes are read by people through `oblien usage …`, which prints objects as nested
 * `key: value` lines but arrays of objects as "[object Object]": so series, chart days
 * and per-workspace rows are objects keyed by bucket start, day or workspace id (in
 * order), and every total sits in a nested object.
 */
import { AppError } from '../contract/errors.js';
import { TIER_SECONDS, type EstimateQuery, type UsagePeriodQuery } from '../contract/usage.js';
import type { Store, UsageAmounts, UsageTier, UsageTrackingRecord, WorkspaceRecord } from '../store/store.js';
import { creditsOf, hourlyRate, HOURS_PER_MONTH, round, usageUnits, type PriceTable } from './pricing.js';

/** At most this many buckets per series (a longer span needs a coarser tier). */
const MAX_BUCKETS = 5000;
/** Default tier: hour up to this span, day beyond. */
const HOURLY_SPAN_S = 2 * 86_400;

const ZERO: UsageAmounts = { cpu_seconds: 0, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 };

function add(a: UsageAmounts, b: UsageAmounts): UsageAmounts {
  return {
    cpu_seconds: a.cpu_seconds + b.cpu_seconds,
    memory_mb_seconds: a.memory_mb_seconds + b.memory_mb_seconds,
    disk_mb_hours: a.disk_mb_hours + b.disk_mb_hours,
    rx_bytes: a.rx_bytes + b.rx_bytes,
    tx_bytes: a.tx_bytes + b.tx_bytes,
  };
}

/** Start of the `tier` bucket holding `iso`. */
export function alignDown(iso: string, tier: UsageTier): string {
  const ms = Date.parse(iso);
  return new Date(Math.floor(ms / (TIER_SECONDS[tier] * 1000)) * TIER_SECONDS[tier] * 1000).toISOString();
}

function amountsView(u: UsageAmounts) {
  const units = usageUnits(u);
  return {
    cpu_seconds: round(u.cpu_seconds),
    memory_mb_seconds: round(u.memory_mb_seconds, 3),
    disk_mb_hours: round(u.disk_mb_hours),
    rx_bytes: u.rx_bytes,
    tx_bytes: u.tx_bytes,
    vcpu_hours: round(units.vcpu_hours),
    memory_gb_hours: round(units.memory_gb_hours),
    disk_gb_months: round(units.disk_gb_months),
    network_egress_gb: round(units.network_egress_gb),
    network_ingress_gb: round(units.network_ingress_gb),
  };
}

function creditsView(u: UsageAmounts, p: PriceTable) {
  const c = creditsOf(u, p);
  return { cpu: round(c.cpu), memory: round(c.memory), disk: round(c.disk), network: round(c.network), total: round(c.total) };
}

const trackingView = (t: UsageTrackingRecord | null) => ({ enabled: t?.enabled ?? true, changed_at: t?.changed_at ?? null });

export interface UsageReportDeps {
  store: Store;
  prices: PriceTable;
  now?: () => number;
}

export class UsageReports {
  constructor(private readonly d: UsageReportDeps) {}

  get prices(): PriceTable {
    return { ...this.d.prices };
  }

  /**
   * Resolves the period: `from` aligned down to the minute (what is stored), so totals are
   * those of the period asked and the first bucket may be partial; tier by span when not
   * given; too many buckets → 400.
   */
  private async period(q: UsagePeriodQuery, workspaceId?: string, fixedTier?: UsageTier) {
    let from = q.from;
    if (from === null) {
      const totals = await this.d.store.usageTotals({ workspaceId, to: q.to });
      const first = totals.map((t) => t.first_bucket).sort()[0];
      from = first ?? q.to;
    }
    const span = Math.max(0, (Date.parse(q.to) - Date.parse(from)) / 1000);
    const tier = fixedTier ?? q.tier ?? (span <= HOURLY_SPAN_S ? 'hour' : 'day');
    if (span / TIER_SECONDS[tier] > MAX_BUCKETS) {
      throw new AppError('bad_request', `A ${tier} series covers at most ${MAX_BUCKETS} ${tier}s; choose a coarser tier or a shorter period`, { field: 'tier' });
    }
    return { from: alignDown(from, 'minute'), to: q.to, tier };
  }

  /** GET /workspace/:id/usage: totals and a series of `tier` buckets (buckets without usage are left out). */
  async series(workspaceId: string, q: UsagePeriodQuery) {
    const period = await this.period(q, workspaceId);
    const rows = await this.d.store.listUsage({ workspaceId, from: period.from, to: period.to }, period.tier);
    let total = ZERO;
    const series: Record<string, unknown> = {};
    for (const r of rows) {
      total = add(total, r);
      series[r.bucket_start] = { ...amountsView(r), credits: round(creditsOf(r, this.d.prices).total) };
    }
    return {
      workspace_id: workspaceId, period, tracking: trackingView(await this.d.store.getUsageTracking(workspaceId)),
      totals: amountsView(total), credits: creditsView(total, this.d.prices), buckets: rows.length, series,
    };
  }

  /** GET /workspace/:id/usage/totals: everything recorded in the period (default: all). */
  async totals(workspaceId: string, q: UsagePeriodQuery) {
    const [row] = await this.d.store.usageTotals({ workspaceId, from: q.from, to: q.to });
    const total = row ?? ZERO;
    return {
      workspace_id: workspaceId,
      period: { from: q.from, to: q.to },
      first_bucket: row?.first_bucket ?? null,
      last_bucket: row?.last_bucket ?? null,
      tracking: trackingView(await this.d.store.getUsageTracking(workspaceId)),
      totals: amountsView(total),
      credits: creditsView(total, this.d.prices),
      prices: this.prices,
    };
  }

  /**
   * GET /workspace/:id/usage/credits/chart: total credits per UTC day, every day of the
   * period (zero-filled; one line per day in the CLI), and the period's credits by component.
   */
  async creditsChart(workspaceId: string, q: UsagePeriodQuery) {
    const period = await this.period(q, workspaceId, 'day');
    const rows = await this.d.store.listUsage({ workspaceId, from: period.from, to: period.to }, 'day');
    const byDay = new Map(rows.map((r) => [r.bucket_start.slice(0, 10), r]));
    const chart: Record<string, number> = {};
    let total = ZERO;
    for (let t = Date.parse(alignDown(period.from, 'day')); t < Date.parse(period.to); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      const u = byDay.get(day) ?? ZERO;
      total = add(total, u);
      chart[day] = round(creditsOf(u, this.d.prices).total);
    }
    const credits = creditsView(total, this.d.prices);
    return { workspace_id: workspaceId, period, days: Object.keys(chart).length, total_credits: credits.total, credits, chart };
  }

  /** GET /workspace/usage: every workspace with usage in the period (deleted ones too), and the sum. */
  /** `only` narrows to a scoped caller's workspaces (one id, or a test). */
  async global(q: UsagePeriodQuery, names: Map<string, WorkspaceRecord>, only?: string | ((id: string) => boolean)) {
    const all = await this.d.store.usageTotals({ workspaceId: typeof only === 'string' ? only : undefined, from: q.from, to: q.to });
    const rows = typeof only === 'function' ? all.filter((r) => only(r.workspace_id)) : all;
    let total = ZERO;
    const workspaces: Record<string, unknown> = {};
    for (const r of rows) {
      total = add(total, r);
      const rec = names.get(r.workspace_id);
      workspaces[r.workspace_id] = {
        name: rec?.name ?? null, status: rec?.state ?? 'deleted', totals: amountsView(r), credits: creditsView(r, this.d.prices),
      };
    }
    return {
      period: { from: q.from, to: q.to }, workspace_count: rows.length,
      totals: amountsView(total), credits: creditsView(total, this.d.prices), workspaces,
    };
  }

  /** GET /workspace/estimate: credits of a size used fully (usage is billed as used, so this is the ceiling). */
  estimate(q: EstimateQuery) {
    const rate = hourlyRate({ cpus: q.cpus, memoryMb: q.memoryMb, diskMb: q.diskMb }, this.d.prices);
    const per = (h: number) => ({ per_hour: round(h), per_day: round(h * 24), per_month: round(h * HOURS_PER_MONTH) });
    return {
      cpus: q.cpus, ram_mb: q.memoryMb, disk_mb: q.diskMb,
      credits_per_hour: round(rate.total), credits_per_day: round(rate.total * 24), credits_per_month: round(rate.total * HOURS_PER_MONTH),
      breakdown: { cpu: per(rate.cpu), memory: per(rate.memory), disk: per(rate.disk) },
      network: `${this.d.prices.network_egress_gb} credits per GB sent, ${this.d.prices.network_ingress_gb} per GB received (not included)`,
      prices: this.prices,
    };
  }

  /** POST …/usage/tracking/start|stop. */
  async setTracking(workspaceId: string, enabled: boolean) {
    const t = await this.d.store.setUsageTracking(workspaceId, enabled, new Date((this.d.now ?? Date.now)()).toISOString());
    return { workspace_id: workspaceId, tracking: trackingView(t) };
  }

  /** DELETE /workspace/:id/usage. */
  async wipe(workspaceId: string) {
    return { workspace_id: workspaceId, deleted_buckets: await this.d.store.deleteUsage(workspaceId) };
  }

  /** Retention: drops buckets older than `days`. */
  async sweep(days: number): Promise<number> {
    return this.d.store.pruneUsage(new Date((this.d.now ?? Date.now)() - days * 86_400_000).toISOString());
  }
}
