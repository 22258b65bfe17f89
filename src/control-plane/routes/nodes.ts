/**
 * The node registry (Warren extension, issue 16), admin only: every node with its state,
 * heartbeat, capacity and what its workspaces hold; one node; drain (no new placements,
 * its workspaces keep running) and undrain. A single-process `serve` has no registered
 * nodes (its workspaces run on its own host, `node_id` null), so its list is empty.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseNodeId } from '../../contract/nodes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { adminOnly } from '../scopes.js';

export function nodeRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/nodes', adminOnly, async (c) => {
    const nodes = await ctx.nodes.list();
    return c.json(ok({ nodes, total: nodes.length }));
  });

  app.get('/nodes/:id', adminOnly, async (c) => {
    return c.json(ok({ node: await ctx.nodes.view(parseNodeId(c.req.param('id'))) }));
  });

  app.post('/nodes/:id/drain', adminOnly, async (c) => {
    const id = parseNodeId(c.req.param('id'));
    await ctx.nodes.drain(id);
    return c.json(ok({ node: await ctx.nodes.view(id) }));
  });

  app.post('/nodes/:id/undrain', adminOnly, async (c) => {
    const id = parseNodeId(c.req.param('id'));
    await ctx.nodes.undrain(id);
    return c.json(ok({ node: await ctx.nodes.view(id) }));
  });

  return app;
}
