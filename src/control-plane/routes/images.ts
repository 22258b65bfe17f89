/** Images (control-plane.md §20): the catalog of what can be created. */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';

export function imageRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/workspace/images', workspaceCallers, async (c) => {
    const q = c.req.query();
    return c.json(ok(await ctx.images.list({ search: q.search || undefined, category: q.category || undefined })));
  });
  return app;
}
