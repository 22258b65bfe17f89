/**
 * Workspace metadata (control-plane.md §15): GET answers `{ success, metadata }` with the
 * keys copied at the top level too; PUT replaces the map, PATCH merges (null removes).
 */
import { Hono } from 'hono';
import { applyMetadata, metadataView, parseMetadataBody } from '../../contract/metadata.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readJson } from '../http.js';

export function metadataRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/:id/metadata', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(metadataView(rec.metadata));
  });

  for (const method of ['put', 'patch'] as const) {
    app[method]('/workspace/:id/metadata', workspaceCallers, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      const replace = method === 'put';
      const change = parseMetadataBody(await readJson(c), !replace);
      const saved = await ctx.workspaces.updateMetadata(rec.id, (current) => applyMetadata(current, change, replace));
      return c.json(metadataView(saved.metadata));
    });
  }

  return app;
}
