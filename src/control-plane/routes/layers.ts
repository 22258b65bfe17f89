/**
 * Snapshots & archives (control-plane.md §10) and fork (Warren's extension).
 *
 * - POST /workspace/:id/snapshot `{ after? }` → `{ snapshot, workspace }`
 * - POST /workspace/:id/restore — the latest snapshot; `{ archive }` (or `{ version }`) restores that archive
 * - POST /workspace/:id/fork `{ count?, name? }` → 201 `{ workspaces }` (admin: it creates workspaces)
 * - archives: POST (201), GET list (`archives`), GET one (`version` at the top level and `archive`),
 *   DELETE one (`?delete_file=true`), DELETE all (`?delete_files=true`)
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseArchiveCreate, parseArchiveDelete, parseArchivesDelete, parseFork, parseRestore, parseSnapshot, parseVersion } from '../../contract/layers.js';
import { archiveView, snapshotView } from '../../domain/layer-view.js';
import { workspaceView } from '../../domain/view.js';
import type { WorkspaceRecord } from '../../store/store.js';
import { workspaceCallers, namespaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

export function layerRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const view = async (rec: WorkspaceRecord | null) => (rec ? workspaceView(rec, await ctx.publicAccess.summaries(rec.id)) : null);

  app.post('/workspace/:id/snapshot', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { after } = parseSnapshot(await readObject(c));
    const r = await ctx.snapshots.create(rec.id, after);
    return c.json(ok({ snapshot: snapshotView(r.snapshot, ctx.layerCapabilities()!), after, workspace: await view(r.workspace) }), 201);
  });

  app.post('/workspace/:id/restore', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { archive } = parseRestore(await readObject(c));
    const r = await ctx.snapshots.restore(rec.id, archive);
    const restored = r.source.kind === 'archive'
      ? { source: 'archive', version: r.source.archive.version, created_at: r.source.archive.created_at }
      : { source: 'snapshot', id: r.source.record.id, created_at: r.source.record.created_at };
    return c.json(ok({ restored, workspace: await view(r.workspace) }));
  });

  app.post('/workspace/:id/fork', namespaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const forks = await ctx.snapshots.fork(rec.id, parseFork(await readObject(c)));
    return c.json(ok({ source: rec.id, workspaces: forks.map((f) => workspaceView(f)) }), 201);
  });

  app.post('/workspace/:id/archives', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const a = archiveView(await ctx.archives.create(rec.id, parseArchiveCreate(await readObject(c))));
    return c.json(ok({ ...a, archive: a }), 201);
  });

  app.get('/workspace/:id/archives', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ archives: (await ctx.archives.list(rec.id)).map(archiveView) }));
  });

  app.get('/workspace/:id/archives/:version', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const a = archiveView(await ctx.archives.get(rec.id, parseVersion(c.req.param('version'))));
    return c.json(ok({ ...a, archive: a }));
  });

  app.delete('/workspace/:id/archives/:version', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { fileToo } = parseArchiveDelete(c.req.query());
    const a = await ctx.archives.delete(rec.id, parseVersion(c.req.param('version')), fileToo);
    return c.json(ok({ deleted: a.version, file_deleted: fileToo }));
  });

  app.delete('/workspace/:id/archives', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { filesToo } = parseArchivesDelete(c.req.query());
    const gone = await ctx.archives.deleteAll(rec.id, filesToo);
    return c.json(ok({ deleted: gone.map((a) => a.version), count: gone.length, files_deleted: filesToo }));
  });

  return app;
}
