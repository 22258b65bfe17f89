/**
 * Network (control-plane.md §6, seed 000): GET, PATCH (partial), PUT (replace),
 * POST /network/ip (outbound IP) and GET /zone/mine (the outbound IP pool). A
 * change is answered once the kernel enforces it (src/network/sync.ts).
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseNetworkPatch, parseOutboundIp } from '../../contract/network.js';
import { networkFields } from '../../domain/view.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

export function networkRoutes(ctx: ControlPlaneContext, gateway: string): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/:id/network', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const links = await ctx.network.resolveLinks(rec.network.private_link_ids, rec.id);
    return c.json(ok({
      ip: rec.ip,
      gateway,
      ...networkFields(rec.network),
      outbound_ip: rec.network.outbound_ip,
      outbound_mode: 'managed',
      private_link_ids: links.map((l) => l.id),
      private_links: links,
    }));
  });

  for (const method of ['patch', 'put'] as const) {
    app[method]('/workspace/:id/network', workspaceCallers, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      const patch = parseNetworkPatch(await readObject(c), method === 'put');
      const saved = await ctx.network.update(rec.id, patch, method === 'put');
      return c.json(ok({
        ...networkFields(saved.network),
        private_link_ids: saved.network.private_link_ids,
        outbound_ip: saved.network.outbound_ip,
      }));
    });
  }
  app.post('/workspace/:id/network/ip', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const entry = await ctx.network.applyOutboundIp(rec.id, parseOutboundIp(await readObject(c)));
    return c.json(ok({ ip: entry.ip, country_code: entry.country_code }));
  });

  app.get('/zone/mine', workspaceCallers, (c) => c.json(ok({ proxies: ctx.network.pool() })));
  return app;
}
