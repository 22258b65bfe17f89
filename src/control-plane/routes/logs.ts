/**
 * Workspace logs (control-plane.md §14): the boot log (Warren's provisioning steps) and
 * the cmd log, files of both and of workloads, and the two SSE streams. The boot stream
 * ends once the boot is done (oblien-mcp reads it to the end); the cmd stream follows.
 * `logs/file/:name` takes the rest of the path (the SDK inserts the name unencoded).
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseTail } from '../../contract/workloads.js';
import { parseLogSource } from '../../contract/logs.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace } from '../http.js';
import { sseResponse } from '../sse-stream.js';

const BASE = '/workspace/:id/logs';
const DEFAULT_TAIL = 500;

export function logRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get(BASE, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const q = c.req.query();
    const source = parseLogSource(q);
    const logs = await ctx.logs.get(rec, source, parseTail(q, DEFAULT_TAIL));
    return c.json(ok({ source, logs, lines: logs.map((l) => l.message), running: rec.state === 'running' }));
  });

  app.delete(BASE, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    await ctx.logs.clear(rec);
    return c.json(ok({ message: 'Logs cleared' }));
  });

  app.get(`${BASE}/list`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ files: await ctx.logs.files(rec) }));
  });

  app.get(`${BASE}/file/*`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const prefix = `/workspace/${c.req.param('id')}/logs/file/`;
    const raw = c.req.path.startsWith(prefix) ? c.req.path.slice(prefix.length) : '';
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      name = '';
    }
    const logs = await ctx.logs.file(rec, name, parseTail(c.req.query(), 10_000));
    return c.json(ok({ name, logs, lines: logs.map((l) => l.message), content: logs.map((l) => l.message).join('\n') }));
  });

  app.get(`${BASE}/stream/boot`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return sseResponse(ctx.logs.bootStream(rec, parseTail(c.req.query(), DEFAULT_TAIL)));
  });

  app.get(`${BASE}/stream/cmd`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return sseResponse(ctx.logs.cmdStream(rec, parseTail(c.req.query(), DEFAULT_TAIL)));
  });

  return app;
}
