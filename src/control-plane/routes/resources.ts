/**
 * Resources (control-plane.md §9) and the MCP's overlay routes (§5), from one service.
 *
 * - GET /workspace/:id/resources → `{ resources, limits }`
 * - PUT and PATCH /workspace/:id/resources `{ cpus?, memory_mb?, disk_size_mb?, apply? }`:
 *   both change only the fields given (a PUT without `memory_mb` keeps the memory)
 * - GET /workspace/:id/overlay (changed files), GET …/overlay/usage,
 *   PUT …/overlay/resize `{ size_mb }`, POST …/overlay/sync
 */
import { Hono, type Context } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseOverlayList, parseOverlayResize, parseResources, type ResourcesCommand } from '../../contract/resources.js';
import { resourcesOf } from '../../domain/resources.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

export function resourceRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  const update = async (c: Context<Env>, parse: (b: unknown) => ResourcesCommand) => {
    const rec = await loadWorkspace(ctx, c);
    const { rec: saved, applied } = await ctx.resources.update(rec.id, parse(await readObject(c)));
    return c.json(ok({ resources: resourcesOf(saved), applied, restart_required: false, ...resourcesOf(saved) }));
  };

  app.get('/workspace/:id/resources', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const l = ctx.policy.limits;
    return c.json(ok({
      resources: resourcesOf(rec),
      ...resourcesOf(rec),
      limits: { cpus: l.cpus, memory_mb: l.memory_mb, disk_size_mb: l.writable_size_mb },
    }));
  });
  app.put('/workspace/:id/resources', workspaceCallers, (c) => update(c, parseResources));
  app.patch('/workspace/:id/resources', workspaceCallers, (c) => update(c, parseResources));

  app.get('/workspace/:id/overlay', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { limit } = parseOverlayList(c.req.query());
    const { entries, truncated } = await ctx.resources.listLayer(rec.id, limit);
    return c.json(ok({ files: entries, count: entries.length, truncated }));
  });

  app.get('/workspace/:id/overlay/usage', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ usage: await ctx.resources.layerUsage(rec.id) }));
  });

  app.put('/workspace/:id/overlay/resize', workspaceCallers, (c) => update(c, parseOverlayResize));

  app.post('/workspace/:id/overlay/sync', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ synced: await ctx.resources.syncLayer(rec.id) }));
  });

  return app;
}
