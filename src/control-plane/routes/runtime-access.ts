/**
 * Runtime API access (control-plane.md §16, seed 001), served under both
 * `/runtime-api-access` (SDK, seed 003) and `/internal-api-access` (seed 001).
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { workspaceCallers, namespaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace } from '../http.js';

const PREFIXES = ['runtime-api-access', 'internal-api-access'];

export function runtimeAccessRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  for (const p of PREFIXES) {
    const base = `/workspace/:id/${p}`;
    app.get(base, workspaceCallers, async (c) => c.json(ok(ctx.access.status(await loadWorkspace(ctx, c)))));
    app.post(`${base}/enable`, workspaceCallers, async (c) => c.json(ok(await ctx.access.enable((await loadWorkspace(ctx, c)).id))));
    app.post(`${base}/disable`, workspaceCallers, async (c) => c.json(ok(await ctx.access.disable((await loadWorkspace(ctx, c)).id))));
    app.get(`${base}/token`, workspaceCallers, async (c) => c.json(ok(await ctx.access.gatewayToken((await loadWorkspace(ctx, c)).id))));
    app.post(`${base}/token`, workspaceCallers, async (c) => c.json(ok(await ctx.access.rotate((await loadWorkspace(ctx, c)).id))));
    app.get(`${base}/token/raw`, workspaceCallers, async (c) => c.json(ok(await ctx.access.rawToken((await loadWorkspace(ctx, c)).id))));
    app.post(`${base}/workspace`, namespaceCallers, async (c) => c.json(ok(await ctx.access.workspaceToken((await loadWorkspace(ctx, c)).id))));
    // Reconnect (seed 001): the agent is always connected here; report the current status.
    app.post(`${base}/reconnect`, workspaceCallers, async (c) => c.json(ok(ctx.access.status(await loadWorkspace(ctx, c)))));
  }
  return app;
}
