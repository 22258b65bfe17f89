/**
 * Usage and activity (control-plane.md §13) and the estimate (§2). Registered before
 * the workspace routes so `/workspace/usage`, `/workspace/activity` and
 * `/workspace/estimate` are never taken for `/workspace/:id`.
 *
 * Default periods when the query names none: a series covers the last 24 hours, the
 * totals everything recorded, the credits chart and the global usage the last 30 days.
 * A token scoped to one workspace sees only that workspace in the global views and cannot
 * wipe its usage or switch its tracking (accounting is the operator's).
 */
import { Hono, type Context } from 'hono';
import { ok } from '../../contract/envelope.js';
import { activityId, parseActivityQuery, parseEstimateQuery, parseUsagePeriod, type DefaultPeriod } from '../../contract/usage.js';
import { activityView } from '../../domain/activity-log.js';
import type { ActivityRecord, WorkspaceRecord } from '../../store/store.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace } from '../http.js';
import { namespaceCallers, usageReaders } from '../scopes.js';
import { reaches, type Principal } from '../../domain/principal.js';

const DAY = 86_400;

function period(c: Context<Env>, dflt: DefaultPeriod) {
  return parseUsagePeriod(c.req.query(), dflt, Date.now());
}

/** Entries keyed by their id, newest first, and the cursor of the next page. */
function activityPage(rows: ActivityRecord[], limit: number) {
  const activity: Record<string, ReturnType<typeof activityView>> = {};
  for (const r of rows) activity[activityId(r.id)] = activityView(r);
  const last = rows.at(-1);
  return { count: rows.length, next_before: rows.length === limit && last ? activityId(last.id) : null, activity };
}

/** What a scoped caller may see of the global listings: its workspace, or its namespace's. */
function scopeFilter(p: Principal, all: WorkspaceRecord[]): { one?: string; ids?: string[] } {
  if (p.kind === 'workspace') return { one: p.workspaceId };
  if (p.kind === 'namespace') return { ids: all.filter((r) => reaches(p, r)).map((r) => r.id) };
  return {};
}

export function usageRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const { usage, activity } = ctx;

  app.get('/workspace/estimate', usageReaders, (c) => c.json(ok(usage.estimate(parseEstimateQuery(c.req.query())))));

  app.get('/workspace/usage', usageReaders, async (c) => {
    const q = period(c, { lastSeconds: 30 * DAY });
    const all = await ctx.store.allWorkspaces();
    const scope = scopeFilter(c.get('principal'), all);
    const names = new Map(all.map((r) => [r.id, r]));
    const ids = scope.ids ? new Set(scope.ids) : null;
    return c.json(ok(await usage.global(q, names, scope.one ?? (ids ? (id) => ids.has(id) : undefined))));
  });

  app.get('/workspace/activity', usageReaders, async (c) => {
    const q = parseActivityQuery(c.req.query());
    const scope = scopeFilter(c.get('principal'), await ctx.store.allWorkspaces());
    if (scope.one) q.workspaceId = scope.one;
    return c.json(ok(activityPage(await activity.list({ ...q, workspaceIds: scope.ids }), q.limit)));
  });

  app.get('/workspace/:id/activity', usageReaders, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const q = { ...parseActivityQuery(c.req.query()), workspaceId: rec.id };
    return c.json(ok({ workspace_id: rec.id, ...activityPage(await activity.list(q), q.limit) }));
  });

  app.get('/workspace/:id/usage', usageReaders, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok(await usage.series(rec.id, period(c, { lastSeconds: DAY }))));
  });

  app.get('/workspace/:id/usage/totals', usageReaders, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok(await usage.totals(rec.id, period(c, 'all'))));
  });

  app.get('/workspace/:id/usage/credits/chart', usageReaders, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok(await usage.creditsChart(rec.id, period(c, { lastSeconds: 30 * DAY }))));
  });

  app.delete('/workspace/:id/usage', namespaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const wiped = await usage.wipe(rec.id);
    return c.json(ok({ ...wiped, message: `Usage data of ${rec.id} wiped` }));
  });

  app.post('/workspace/:id/usage/tracking/start', namespaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ...(await usage.setTracking(rec.id, true)), message: 'Usage tracking started' }));
  });

  app.post('/workspace/:id/usage/tracking/stop', namespaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ...(await usage.setTracking(rec.id, false)), message: 'Usage tracking stopped' }));
  });

  return app;
}
