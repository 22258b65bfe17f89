/**
 * Workspaces — core (control-plane.md §2, seed 004): create, list, get, update,
 * delete, details, quota, archived (the estimate is served with the usage routes, from the
 * same price table). Static paths are registered before `/workspace/:id` so they are never
 * taken for an id.
 */
import { Hono } from 'hono';
import { parseCreateWorkspace, parseUpdateWorkspace } from '../../contract/commands.js';
import { ok } from '../../contract/envelope.js';
import { parseArchivedList, parseWorkspaceList } from '../../contract/workspace-list.js';
import { configView, workspaceView, uptimeSeconds } from '../../domain/view.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, outOfScope, readJson } from '../http.js';
import { allow, namespaceCallers, workspaceCallers, workspaceCallersWhileSuspended } from '../scopes.js';
import type { Principal } from '../../domain/principal.js';
import { quotaFor } from '../../domain/quota.js';
import type { CreateWorkspaceCommand } from '../../contract/commands.js';

/** The quota is the admin's and a namespace's business; a workspace token has no pool. */
const quotaCallers = allow(['admin', 'namespace', 'billing']);

/** A namespace caller's creates land in its namespace; naming another is 403. */
function forceNamespace(p: Principal, cmd: CreateWorkspaceCommand): CreateWorkspaceCommand {
  if (p.kind !== 'namespace') return cmd;
  if (cmd.namespace && cmd.namespace !== p.namespace.slug) throw outOfScope(`Namespace ${cmd.namespace}`, 'namespace');
  return { ...cmd, namespace: p.namespace.slug };
}

/** The namespace filter a caller's listing is held to (its own for a namespace caller; a query may not widen it). */
function listNamespace(p: Principal, asked: string | undefined): string | undefined {
  if (p.kind !== 'namespace') return asked;
  if (asked && asked !== p.namespace.slug) throw outOfScope(`Namespace ${asked}`, 'namespace');
  return p.namespace.slug;
}

export function workspaceRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/quota', quotaCallers, async (c) => {
    const p = c.get('principal');
    return c.json(ok(quotaFor(ctx.policy, await ctx.store.allReservations(), p.kind === 'namespace' ? p.namespace.slug : null)));
  });

  // Workspaces whose VM was destroyed (DELETE /lifecycle) while their record and archives remain.
  app.get('/workspace/archived', workspaceCallers, async (c) => {
    const { page, limit, namespace } = parseArchivedList(c.req.query());
    const principal = c.get('principal');
    const { items, total } = principal.kind === 'workspace'
      ? await ctx.workspaces.get(principal.workspaceId).then((r) => (r.state === 'archived' ? { items: [r], total: 1 } : { items: [], total: 0 }))
      : await ctx.workspaces.list({ state: 'archived', namespace: listNamespace(principal, namespace) }, { page, limit });
    const workspaces = await Promise.all(items.map(async (rec) => {
      const archives = (await ctx.archives.list(rec.id)).filter((a) => a.state === 'ready');
      return { ...workspaceView(rec), archives: archives.map((a) => a.version), latest_archive: archives.at(-1)?.version ?? null };
    }));
    return c.json(ok({ workspaces, total, page, limit }));
  });

  app.post('/workspace', namespaceCallers, async (c) => {
    const cmd = forceNamespace(c.get('principal'), parseCreateWorkspace(await readJson(c)));
    const { rec, created } = await ctx.workspaces.create(cmd);
    return c.json(ok({ workspace: workspaceView(rec) }), created ? 201 : 200);
  });

  app.get('/workspace', workspaceCallers, async (c) => {
    const { page, limit, ...q } = parseWorkspaceList(c.req.query());
    const principal = c.get('principal');
    if (principal.kind === 'workspace') {
      const rec = await ctx.workspaces.get(principal.workspaceId);
      return c.json(ok({ workspaces: [workspaceView(rec, await ctx.publicAccess.summaries(rec.id))], total: 1, page: 1, limit }));
    }
    const { items, total } = await ctx.workspaces.list(
      { mode: q.mode, state: q.state, namespace: listNamespace(principal, q.namespace) },
      { page, limit },
    );
    const ports = await ctx.publicAccess.summariesByWorkspace();
    return c.json(ok({ workspaces: items.map((rec) => workspaceView(rec, ports.get(rec.id))), total, page, limit }));
  });

  app.get('/workspace/:id', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ workspace: workspaceView(rec, await ctx.publicAccess.summaries(rec.id)) }));
  });

  app.put('/workspace/:id', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const cmd = parseUpdateWorkspace(await readJson(c));
    const saved = await ctx.workspaces.update(rec.id, cmd);
    return c.json(ok({ workspace: workspaceView(saved, await ctx.publicAccess.summaries(saved.id)) }));
  });

  app.delete('/workspace/:id', workspaceCallersWhileSuspended, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    await ctx.workspaces.power(rec.id, 'delete');
    return c.json(ok({ message: 'Workspace deleted', id: rec.id }));
  });

  app.post('/workspace/:id/provisioning/retry', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const retried = await ctx.workspaces.retryCreate(rec.id);
    return c.json(ok({ workspace: workspaceView(retried, await ctx.publicAccess.summaries(retried.id)) }));
  });

  app.get('/workspace/:id/details', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const stats = await ctx.stats(rec.id);
    const access = ctx.access.status(rec);
    const token = rec.apiAccess.enabled ? (await ctx.access.gatewayToken(rec.id)).token : null;
    const workspace = {
      ...workspaceView(rec, await ctx.publicAccess.summaries(rec.id)),
      token,
      stats: stats ?? { cpuUsage: 0, memoryUsage: 0, memoryUsedMB: 0, memoryTotalMB: rec.config.memory_mb, networkIn: '0 B', networkOut: '0 B' },
      ssh: await ctx.ssh.details(rec),
      api_access: { enabled: access.enabled, running: access.running, port: access.port },
      lifecycle: { mode: rec.mode, restart_policy: rec.config.restart_policy, uptime: uptimeSeconds(rec) },
      config: configView(rec),
    };
    return c.json(ok({ workspace }));
  });

  return app;
}
