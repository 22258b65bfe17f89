/**
 * Terminal routes (runtime.md §6; Swift-SDK extras from §1):
 *   POST   /terminals                     201 { success, id, cols, rows, command, alive, created_at, scrollback_size }
 *   GET    /terminals                     { success, terminals }
 *   DELETE /terminals/:id                 { success, terminal_id }
 *   GET    /terminals/:id/scrollback      { success, scrollback (base64), size, alive, exit_code, … } (?bytes=N)
 *   PATCH  /terminals/:id/scrollback      { scrollback_size } (0 ⇒ 64 KiB)
 *   DELETE /terminals/:id/scrollback      clear
 *   POST   /terminals/:id/resize          { cols, rows } (the WebSocket control frame does the same)
 * Terminal I/O itself goes over /ws (binary frames).
 */
import { AppError } from '../../contract/errors.js';
import { readJsonObject, reply, type RequestContext, type Router } from '../http.js';
import { MAX_SCROLLBACK } from '../terminals/session.js';
import { scrollbackBytes, type TerminalManager } from '../terminals/manager.js';

export const TERMINAL_CAPABILITIES = ['terminals'];

export function registerTerminalRoutes(router: Router, terminals: TerminalManager): void {
  const session = (ctx: RequestContext) => {
    const id = ctx.params.id ?? '';
    const s = terminals.get(id);
    if (!s) throw new AppError('not_found', `Terminal session ${id} not found`, { field: 'id' });
    return s;
  };
  router
    .post('/terminals', async (ctx) => {
      const s = terminals.create(await readJsonObject(ctx.req));
      return reply({ success: true, ...s.toJSON() }, 201);
    })
    .get('/terminals', () => reply({ success: true, terminals: terminals.list().map((s) => s.toJSON()) }))
    .delete('/terminals/:id', (ctx) => {
      const id = ctx.params.id ?? '';
      if (!terminals.delete(id)) throw new AppError('not_found', `Terminal session ${id} not found`, { field: 'id' });
      return reply({ success: true, terminal_id: id });
    })
    .get('/terminals/:id/scrollback', (ctx) => {
      const s = session(ctx);
      const bytes = optionalBytes(ctx.query.get('bytes'));
      const data = s.snapshot(bytes);
      return reply({
        success: true,
        terminal_id: s.id,
        scrollback: data.toString('base64'),
        size: data.length,
        alive: s.alive,
        exit_code: s.alive ? 0 : s.exitCode,
        scrollback_size: s.scrollbackSize,
        max_scrollback_size: MAX_SCROLLBACK,
      });
    })
    .add('PATCH', '/terminals/:id/scrollback', async (ctx) => {
      const s = session(ctx);
      const body = await readJsonObject(ctx.req);
      if (body.scrollback_size === undefined) {
        throw new AppError('bad_request', 'scrollback_size is required', { field: 'scrollback_size' });
      }
      s.setScrollbackSize(scrollbackBytes(body.scrollback_size));
      return reply({ success: true, terminal_id: s.id, scrollback_size: s.scrollbackSize });
    })
    .delete('/terminals/:id/scrollback', (ctx) => {
      const s = session(ctx);
      s.clearScrollback();
      return reply({ success: true, terminal_id: s.id, scrollback_size: s.scrollbackSize });
    })
    .post('/terminals/:id/resize', async (ctx) => {
      const s = session(ctx);
      const body = await readJsonObject(ctx.req);
      const cols = Number(body.cols);
      const rows = Number(body.rows);
      if (!validSize(cols) || !validSize(rows)) {
        throw new AppError('bad_request', 'cols and rows must be integers between 1 and 1000', { field: 'cols' });
      }
      s.resize(cols, rows);
      return reply({ success: true, terminal_id: s.id, cols: s.cols, rows: s.rows });
    });
}

export function validSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 1000;
}

function optionalBytes(raw: string | null): number | undefined {
  if (raw === null || raw === '' || raw === '0') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new AppError('bad_request', 'bytes must be a non-negative integer', { field: 'bytes' });
  return n;
}
