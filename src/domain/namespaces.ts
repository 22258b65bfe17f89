/**
 * Namespaces (control-plane.md §21): groups of workspaces (a workspace names its
 * namespace by slug), with a status, resource limits over their workspaces together,
 * an activity history and usage. Suspending stops the namespace's running workspaces
 * and refuses new ones; deleting a namespace that still has workspaces needs
 * `deleteWorkspaces`. The limits are checked where workspaces are reserved (see
 * `checkNamespaceCreate`, called under the create lock).
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../contract/errors.js';
import { slugify, type NamespaceFields, type NamespaceListQuery } from '../contract/namespaces.js';
import type { NamespaceActivityRecord, NamespaceLimits, NamespaceRecord, Store, WorkspaceRecord } from '../store/store.js';
import { creditsOf, round, usageUnits, type PriceTable } from './pricing.js';
import type { Demand, Held } from './quota.js';
import { isLive } from './lifecycle.js';
import type { WorkspaceService } from './workspaces.js';

export interface NamespaceDeps {
  store: Store;
  workspaces: WorkspaceService;
  prices: () => PriceTable;
  /** Quota hooks (namespace-quotas.ts): default quotas for a new namespace; quotas dropped with it. */
  quotas?: { applyDefaults(ns: NamespaceRecord): Promise<void>; forget(ns: NamespaceRecord): Promise<void> };
}

const DAY_MS = 86_400_000;

function notFound(idOrSlug: string): AppError {
  return new AppError('not_found', `Namespace ${idOrSlug} not found`, { field: 'id' });
}

/**
 * Throws 409 NAMESPACE_LIMIT_REACHED when workspaces of `demand` (count of them) would take
 * the namespace past its limits; `owned` are its workspaces now (a resized one left out).
 */
export function checkNamespaceLimits(ns: NamespaceRecord, owned: Held[], demand: Demand, count: number): void {
  const l: NamespaceLimits | null = ns.resource_limits;
  if (!l) return;
  const sum = (f: (r: Held) => number) => owned.reduce((n, r) => n + f(r), 0);
  const checks: Array<[keyof NamespaceLimits, number | null, number]> = [
    ['max_workspaces', l.max_workspaces, owned.length + count],
    ['max_vcpus', l.max_vcpus, sum((r) => r.config.cpus) + demand.cpus * count],
    ['max_ram_mb', l.max_ram_mb, sum((r) => r.config.memory_mb) + demand.memory_mb * count],
    ['max_disk_gb', l.max_disk_gb === null ? null : l.max_disk_gb * 1024, sum((r) => r.config.disk_size_mb) + demand.disk_mb * count],
  ];
  for (const [key, max, want] of checks) {
    if (max !== null && want > max) {
      throw new AppError('NAMESPACE_LIMIT_REACHED', `Namespace ${ns.slug} allows ${key === 'max_disk_gb' ? `${l.max_disk_gb} GB of disk` : `${key.replace('max_', '')} up to ${max}`}`, {
        field: key, namespace: ns.slug, limit: key === 'max_disk_gb' ? l.max_disk_gb : max,
      });
    }
  }
}

/**
 * What workspace reservations ask of namespaces (needs only the store, so the workspace
 * service can hold it): a suspended namespace takes no new or starting workspace
 * (403 namespace_suspended); its limits cap what its workspaces own together.
 */
export class NamespaceGate {
  /** `quotaCheck` (namespace-quotas.ts `admit`) throws 402 QUOTA_EXCEEDED when a quota of the namespace is used up. */
  constructor(private readonly store: Store, private readonly quotaCheck?: (ns: NamespaceRecord) => Promise<void>) {}

  /** Under the create lock, before the records of `count` new workspaces of `demand` exist. */
  async admit(namespace: string | null, demand: Demand, count: number, all: Held[]): Promise<void> {
    const ns = namespace ? await this.store.findNamespace(namespace) : null;
    if (!ns) return;
    this.requireActive(ns);
    checkNamespaceLimits(ns, all.filter((w) => w.namespace === ns.slug), demand, count);
    await this.quotaCheck?.(ns);
  }

  async checkStart(rec: WorkspaceRecord): Promise<void> {
    const ns = rec.namespace ? await this.store.findNamespace(rec.namespace) : null;
    if (!ns) return;
    this.requireActive(ns);
    await this.quotaCheck?.(ns);
  }

  /** A resize of `next`: the namespace's totals with its new size. */
  async checkResize(next: WorkspaceRecord, all: Held[]): Promise<void> {
    const ns = next.namespace ? await this.store.findNamespace(next.namespace) : null;
    if (!ns) return;
    const others = all.filter((w) => w.namespace === ns.slug && w.id !== next.id);
    const d = { cpus: next.config.cpus, memory_mb: next.config.memory_mb, disk_mb: next.config.disk_size_mb };
    checkNamespaceLimits({ ...ns, resource_limits: ns.resource_limits && { ...ns.resource_limits, max_workspaces: null } }, others, d, 1);
  }

  private requireActive(ns: NamespaceRecord): void {
    if (ns.status === 'suspended') {
      throw new AppError('namespace_suspended', `Namespace ${ns.slug} is suspended`, { field: 'namespace', namespace: ns.slug });
    }
  }
}

export class NamespaceService {
  constructor(private readonly d: NamespaceDeps) {}

  async get(idOrSlug: string): Promise<NamespaceRecord> {
    const ns = await this.d.store.findNamespace(idOrSlug);
    if (!ns) throw notFound(idOrSlug);
    return ns;
  }

  async create(fields: NamespaceFields): Promise<NamespaceRecord> {
    const name = fields.name ?? 'unnamed';
    const slug = fields.slug ?? (await this.freeSlug(slugify(name)));
    const now = new Date().toISOString();
    const rec: NamespaceRecord = {
      id: `ns_${randomBytes(6).toString('hex')}`, slug, name, description: fields.description ?? null, status: 'active',
      type: fields.type ?? 'default', is_default: fields.is_default ?? false, metadata: fields.metadata ?? {},
      tags: fields.tags ?? [], resource_limits: fields.resource_limits ?? null, created_at: now, updated_at: now, last_active_at: null,
    };
    await this.d.store.putNamespace(rec);
    await this.note(rec, 'created', `Namespace ${slug} created`, null);
    await this.d.quotas?.applyDefaults(rec);
    return rec;
  }

  /** The namespace of that slug (or name), made if missing. */
  async ensure(fields: NamespaceFields): Promise<{ created: boolean; ns: NamespaceRecord }> {
    const slug = fields.slug ?? slugify(fields.name ?? 'default');
    const existing = await this.d.store.findNamespace(slug);
    if (existing) return { created: false, ns: existing };
    return { created: true, ns: await this.create({ ...fields, slug, name: fields.name ?? slug }) };
  }

  async list(q: NamespaceListQuery, onlyId?: string): Promise<{ items: NamespaceRecord[]; total: number }> {
    let all = await this.d.store.allNamespaces();
    if (onlyId !== undefined) all = all.filter((n) => n.id === onlyId);
    if (q.status) all = all.filter((n) => n.status === q.status);
    if (q.type) all = all.filter((n) => n.type === q.type);
    if (q.search) all = all.filter((n) => `${n.name} ${n.slug} ${n.description ?? ''}`.toLowerCase().includes(q.search!));
    const key = q.sortBy;
    all.sort((a, b) => String(a[key]).localeCompare(String(b[key])) * (q.sortOrder === 'desc' ? -1 : 1));
    return { items: all.slice(q.offset, q.offset + q.limit), total: all.length };
  }

  async update(idOrSlug: string, fields: NamespaceFields): Promise<NamespaceRecord> {
    const ns = await this.get(idOrSlug);
    if (fields.status === 'suspended' && ns.status !== 'suspended') return this.suspend(ns.id, fields);
    const next: NamespaceRecord = { ...ns, ...withoutUndefined(fields), updated_at: new Date().toISOString() };
    if (fields.slug && fields.slug !== ns.slug && (await this.members(ns)).length > 0) {
      throw new AppError('conflict', 'A namespace that has workspaces keeps its slug (workspaces name it)', { field: 'slug' });
    }
    await this.d.store.putNamespace(next);
    await this.note(next, 'updated', `Namespace ${next.slug} updated`, changesOf(ns, next));
    return next;
  }

  async remove(idOrSlug: string, deleteWorkspaces: boolean): Promise<{ deleted_workspaces: string[] }> {
    const ns = await this.get(idOrSlug);
    const members = await this.members(ns);
    if (members.length > 0 && !deleteWorkspaces) {
      throw new AppError('conflict', `Namespace ${ns.slug} has ${members.length} workspace(s); pass deleteWorkspaces: true to delete them too`, {
        field: 'deleteWorkspaces', workspaces: members.length,
      });
    }
    for (const w of members) await this.d.workspaces.power(w.id, 'delete');
    await this.d.store.deleteNamespace(ns.id);
    await this.d.quotas?.forget(ns);
    await this.note(ns, 'deleted', `Namespace ${ns.slug} deleted`, { deleted_workspaces: members.map((w) => w.id) });
    return { deleted_workspaces: members.map((w) => w.id) };
  }

  async suspend(idOrSlug: string, fields: NamespaceFields = {}): Promise<NamespaceRecord> {
    const ns = await this.get(idOrSlug);
    const next: NamespaceRecord = { ...ns, ...withoutUndefined(fields), status: 'suspended', updated_at: new Date().toISOString() };
    await this.d.store.putNamespace(next); // first: no new workspace starts from here on
    const stopped = await this.stopAll(next);
    await this.note(next, 'suspended', `Namespace ${ns.slug} suspended`, { stopped_workspaces: stopped });
    return next;
  }

  async activate(idOrSlug: string): Promise<NamespaceRecord> {
    const ns = await this.get(idOrSlug);
    const next: NamespaceRecord = { ...ns, status: 'active', updated_at: new Date().toISOString() };
    await this.d.store.putNamespace(next);
    await this.note(next, 'activated', `Namespace ${ns.slug} activated`, null);
    return next;
  }

  async stopWorkspaces(idOrSlug: string): Promise<string[]> {
    const ns = await this.get(idOrSlug);
    const stopped = await this.stopAll(ns);
    await this.note(ns, 'workspaces_stopped', `Stopped ${stopped.length} workspace(s)`, { stopped_workspaces: stopped });
    return stopped;
  }

  async activity(idOrSlug: string, page: { limit: number; offset: number }): Promise<NamespaceActivityRecord[]> {
    const ns = await this.get(idOrSlug);
    return this.d.store.listNamespaceActivity(ns.id, page.limit, page.offset);
  }

  /** Usage of the namespace's current workspaces over the last `days`, with credits from the price table. */
  async usage(idOrSlug: string, days: number): Promise<Record<string, unknown>> {
    const ns = await this.get(idOrSlug);
    const members = new Set((await this.members(ns)).map((w) => w.id));
    const to = new Date();
    const from = new Date(to.getTime() - days * DAY_MS);
    const rows = (await this.d.store.usageTotals({ from: from.toISOString(), to: to.toISOString() })).filter((r) => members.has(r.workspace_id));
    const total = { cpu_seconds: 0, memory_mb_seconds: 0, disk_mb_hours: 0, rx_bytes: 0, tx_bytes: 0 };
    for (const r of rows) for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += r[k];
    const credits = creditsOf(total, this.d.prices());
    const units = usageUnits(total);
    return {
      namespace: ns.slug, range: { from: from.toISOString(), to: to.toISOString() }, days, workspaces: members.size,
      totals: { ...total, ...Object.fromEntries(Object.entries(units).map(([k, v]) => [k, round(v)])) },
      credits: Object.fromEntries(Object.entries(credits).map(([k, v]) => [k, round(v)])),
      by_workspace: Object.fromEntries(rows.map((r) => [r.workspace_id, { cpu_seconds: r.cpu_seconds, credits: round(creditsOf(r, this.d.prices()).total) }])),
    };
  }

  async members(ns: NamespaceRecord): Promise<WorkspaceRecord[]> {
    return (await this.d.store.allWorkspaces()).filter((w) => w.namespace === ns.slug);
  }

  private async stopAll(ns: NamespaceRecord): Promise<string[]> {
    const live = (await this.members(ns)).filter((w) => isLive(w.state));
    const stopped: string[] = [];
    for (const w of live) {
      await this.d.workspaces.power(w.id, 'stop', { by: 'policy' });
      stopped.push(w.id);
    }
    return stopped;
  }

  private async freeSlug(base: string): Promise<string> {
    for (let i = 1; ; i++) {
      const slug = i === 1 ? base : `${base.slice(0, 58)}-${i}`;
      if (!(await this.d.store.findNamespace(slug))) return slug;
    }
  }

  private async note(ns: NamespaceRecord, action: string, description: string, changes: Record<string, unknown> | null): Promise<void> {
    await this.d.store.addNamespaceActivity({ namespace_id: ns.id, action, description, changes, created_at: new Date().toISOString() });
  }
}

function withoutUndefined(f: NamespaceFields): Partial<NamespaceRecord> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Partial<NamespaceRecord>;
}

function changesOf(a: NamespaceRecord, b: NamespaceRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(b) as Array<keyof NamespaceRecord>) {
    if (k !== 'updated_at' && JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = { from: a[k], to: b[k] };
  }
  return out;
}
