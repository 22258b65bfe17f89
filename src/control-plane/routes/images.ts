/**
 * Images (control-plane.md §20, plus Warren extensions of issue 12):
 *
 * - GET    /workspace/images          the catalog and the stored images (`source`), for every caller
 * - POST   /workspace/:id/image       `{ name }` → the workspace's files saved as a new image (admin)
 * - POST   /images                    imports an OCI layout / `docker save` archive (admin): a JSON body
 *                                      `{ path, name? }` naming a file under WARREN_IMAGE_IMPORT_DIRS, or the
 *                                      archive itself as the body (`application/x-tar`, `?name=`)
 * - DELETE /images/:name              removes an image no workspace uses (admin; name or `sha256:` id)
 *
 * Images are shared by every namespace of this Warren, so only the admin writes them.
 */
import { AppError } from '../../contract/errors.js';
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseCommitImage, parseImageList, parseImportPath, parseImportUpload } from '../../contract/images.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { idleGuardedBody, loadWorkspace, readObject } from '../http.js';
import { adminOnly, workspaceCallers } from '../scopes.js';

export function imageRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/workspace/images', workspaceCallers, async (c) => {
    return c.json(ok(await ctx.images.list(parseImageList(c.req.query()))));
  });

  app.post('/workspace/:id/image', adminOnly, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const cmd = parseCommitImage(await readObject(c));
    return c.json(ok({ image: await ctx.imageService.commit(rec.id, cmd.name) }), 201);
  });

  app.post('/images', adminOnly, async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/json') {
      const cmd = parseImportPath(await readObject(c));
      return c.json(ok({ image: await ctx.imageService.import({ path: cmd.path }, cmd.name) }), 201);
    }
    const upload = parseImportUpload(type, c.req.query(), idleGuardedBody(c.req.raw.body));
    return c.json(ok({ image: await ctx.imageService.import({ upload: upload.stream }, upload.name) }), 201);
  });

  app.delete('/images/:name{.+}', adminOnly, async (c) => {
    const removed = await ctx.imageService.remove(imageNameParam(c.req.param('name')));
    return c.json(ok({ deleted: true, ...removed }));
  });
  return app;
}

/**
 * The `:name` of DELETE /images/… decoded once more (a name with `/` arrives as %2F). A stray
 * `%` cannot be decoded and names no image: 404 `image_not_found`, not a URIError's 500 (found
 * by the fuzzer, seed 15015: DELETE /images/zy%24b%25r).
 */
function imageNameParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new AppError('image_not_found', 'No image of that name', { field: 'name' });
  }
}
