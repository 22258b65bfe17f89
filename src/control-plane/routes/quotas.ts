/**
 * Namespace quotas (control-plane.md §21, the nine `/credits/*` routes): set and reset a
 * namespace's quota, namespaces with their quotas, one namespace's details, and the
 * default quotas (level "namespace"). Bodies are camelCase; answers `{ success, data }`
 * (the list also `pagination`). Admin callers only, like the namespace routes.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseDays, parseNamespaceList } from '../../contract/namespaces.js';
import {
  parseDefaultKey, parseDefaultKeyQuery, parseDefaultLevel, parseQuotaKey, parseSetDefaultQuota, parseSetQuota, parseToggleAutoApply,
} from '../../contract/quotas.js';
import { isExceeded, type NamespaceWithQuotas } from '../../domain/namespace-quotas.js';
import { round } from '../../domain/pricing.js';
import type { DefaultQuotaRecord, NamespaceQuotaRecord, NamespaceRecord } from '../../store/store.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { clientIdOf, readJson, readObject } from '../http.js';
import { billingCallers } from '../scopes.js';

/** NamespaceQuota of the spec, plus `namespace_id`, `usage_since`, `remaining` and `exceeded`. */
function quotaView(q: NamespaceQuotaRecord, ns: NamespaceRecord, clientId: string): Record<string, unknown> {
  return {
    id: `nq_${ns.id.replace(/^ns_/, '')}_${q.service}`, client_id: clientId, namespace: ns.slug, namespace_id: ns.id, service: q.service,
    quota_limit: q.quota_limit, quota_used: round(q.quota_used), overdraft: q.overdraft, on_overdraft_action: q.on_overdraft_action,
    notification_thresholds: q.notification_thresholds, last_threshold_fired: q.last_threshold_fired, enabled: q.enabled,
    remaining: round(Math.max(0, q.quota_limit + q.overdraft - q.quota_used)), exceeded: isExceeded(q),
    usage_since: q.usage_since, created_at: q.created_at, updated_at: q.updated_at,
  };
}

function defaultView(d: DefaultQuotaRecord, clientId: string): Record<string, unknown> {
  return { id: `dq_${d.level}_${d.service}`, client_id: clientId, ...d };
}

function withQuotasView(w: NamespaceWithQuotas, clientId: string): Record<string, unknown> {
  return {
    ...w.ns, client_id: clientId, workspace_count: w.workspaces, total_spent: round(w.total_spent),
    active_quotas: w.quotas.filter((q) => q.enabled).length, quotas: w.quotas.map((q) => quotaView(q, w.ns, clientId)),
  };
}

export function quotaRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const quotas = ctx.quotas;

  app.post('/credits/namespace-quota', billingCallers, async (c) => {
    const { ns, quota } = await quotas.set(parseSetQuota(await readJson(c)));
    return c.json(ok({ message: 'Quota set', data: quotaView(quota, ns, clientIdOf(c)) }));
  });

  app.post('/credits/reset-quota', billingCallers, async (c) => {
    const key = parseQuotaKey(await readJson(c));
    const { ns, quota } = await quotas.reset(key.namespace, key.service);
    return c.json(ok({ message: 'Quota usage reset', data: quotaView(quota, ns, clientIdOf(c)) }));
  });

  app.get('/credits/namespaces', billingCallers, async (c) => {
    const q = parseNamespaceList(c.req.query());
    const { items, total } = await quotas.listWithQuotas(q);
    return c.json(ok({ data: items.map((w) => withQuotasView(w, clientIdOf(c))), pagination: { total, limit: q.limit, offset: q.offset } }));
  });

  app.get('/credits/namespaces/:namespace', billingCallers, async (c) => {
    const d = await quotas.details(c.req.param('namespace'), parseDays(c.req.query()));
    return c.json(ok({ data: { ...withQuotasView(d, clientIdOf(c)), usage: d.usage } }));
  });

  app.post('/credits/defaults', billingCallers, async (c) => {
    const d = await quotas.setDefault(parseSetDefaultQuota(await readJson(c)));
    return c.json(ok({ message: 'Default quota set', data: defaultView(d, clientIdOf(c)) }));
  });

  /** `data: null` when the service has no default. */
  app.get('/credits/defaults', billingCallers, async (c) => {
    const d = await quotas.getDefault(parseDefaultKeyQuery(c.req.query()));
    return c.json(ok({ data: d && defaultView(d, clientIdOf(c)) }));
  });

  app.get('/credits/defaults/all', billingCallers, async (c) => {
    parseDefaultLevel(c.req.query());
    return c.json(ok({ data: (await quotas.allDefaults()).map((d) => defaultView(d, clientIdOf(c))) }));
  });

  app.delete('/credits/defaults', billingCallers, async (c) => {
    const service = parseDefaultKey(await readObject(c));
    await quotas.deleteDefault(service);
    return c.json(ok({ message: `Default quota for ${service} deleted` }));
  });

  app.post('/credits/defaults/toggle-auto-apply', billingCallers, async (c) => {
    const { service, autoApply } = parseToggleAutoApply(await readJson(c));
    const d = await quotas.toggleAutoApply(service, autoApply);
    return c.json(ok({ message: `Auto-apply ${autoApply ? 'enabled' : 'disabled'} for ${service}`, data: defaultView(d, clientIdOf(c)) }));
  });

  return app;
}
