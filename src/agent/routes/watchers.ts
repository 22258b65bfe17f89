/**
 * Watcher routes (runtime.md §7). Create and get answer the dual shape: the watcher
 * under `watcher` (what the SDK returns) and its fields at top level (public docs).
 *   POST   /watchers      { path | root, excludes | exclude }
 *   GET    /watchers      { success, watchers }
 *   GET    /watchers/:id  dual shape
 *   DELETE /watchers/:id  { success }
 * Events travel on /ws (channel "watcher").
 */
import { AppError } from '../../contract/errors.js';
import { readJsonObject, reply, type Router } from '../http.js';
import type { WatcherManager } from '../watchers/manager.js';
import type { DirectoryWatcher } from '../watchers/watcher.js';

export const WATCHER_CAPABILITIES = ['watchers'];

export function registerWatcherRoutes(router: Router, watchers: WatcherManager): void {
  router
    .post('/watchers', async (ctx) => reply(dual(watchers.create(await readJsonObject(ctx.req)))))
    .get('/watchers', () => reply({ success: true, watchers: watchers.list().map((w) => w.toJSON()) }))
    .get('/watchers/:id', (ctx) => {
      const w = watchers.get(ctx.params.id ?? '');
      if (!w) throw notFound(ctx.params.id);
      return reply(dual(w));
    })
    .delete('/watchers/:id', (ctx) => {
      if (!watchers.delete(ctx.params.id ?? '')) throw notFound(ctx.params.id);
      return reply({ success: true, id: ctx.params.id });
    });
}

function dual(w: DirectoryWatcher): Record<string, unknown> {
  const info = w.toJSON();
  return { success: true, watcher: info, ...info };
}

function notFound(id: string | undefined): AppError {
  return new AppError('not_found', `Watcher ${id ?? ''} not found`, { field: 'id' });
}
