/**
 * Public access (control-plane.md §8, seed 003): list, expose, update slug, revoke.
 * The response key `port` of expose/update holds an object (PublicAccessPort).
 * Exposing an already exposed port updates it (200); a new exposure answers 201.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseExpose, parsePort, parseSlugUpdate } from '../../contract/public-access.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

export function publicAccessRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/:id/public-access', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ports: await ctx.publicAccess.list(rec.id) }));
  });

  app.post('/workspace/:id/public-access', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { port, created } = await ctx.publicAccess.expose(rec.id, parseExpose(await readObject(c)));
    return c.json(ok({ port }), created ? 201 : 200);
  });

  app.patch('/workspace/:id/public-access/:port', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const body = await readObject(c); // read before the :port is judged, as it always was
    const port = parsePort(c.req.param('port'), []);
    return c.json(ok({ port: await ctx.publicAccess.updateSlug(rec.id, port, parseSlugUpdate(body)) }));
  });

  app.delete('/workspace/:id/public-access/:port', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    await ctx.publicAccess.revoke(rec.id, parsePort(c.req.param('port'), []));
    return c.json(ok({ message: 'Public access revoked' }));
  });

  return app;
}
