/**
 * Workloads (control-plane.md §11): all fifteen routes. Bodies accept the SDK's
 * `WorkloadCreateParams` and the CLI's shape; responses carry the workload both at the
 * top level (`id`, …) and under `workload`. `/workloads/stats/stream` is registered
 * before the `/:wid` routes so it always wins.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseTail, parseWorkloadCreate, parseWorkloadList, parseWorkloadUpdate } from '../../contract/workloads.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readJson } from '../http.js';
import { sseResponse } from '../sse-stream.js';

const BASE = '/workspace/:id/workloads';

export function workloadRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const w = ctx.workloads;
  const wid = (c: { req: { param: (k: string) => string | undefined } }) => c.req.param('wid') ?? '';
  const one = (workload: Record<string, unknown>) => ok({ ...workload, workload });

  app.get(`${BASE}/stats/stream`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return sseResponse(await w.openStatsStream(rec.id, null));
  });

  app.post(BASE, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(one(await w.create(rec.id, parseWorkloadCreate(await readJson(c)))), 201);
  });

  app.get(BASE, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const workloads = await w.list(rec.id, parseWorkloadList(c.req.query()));
    return c.json(ok({ workloads, total: workloads.length }));
  });

  app.delete(BASE, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const deleted = await w.removeAll(rec.id);
    return c.json(ok({ message: `Deleted ${deleted} workload${deleted === 1 ? '' : 's'}`, deleted }));
  });

  app.get(`${BASE}/:wid`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(one(await w.get(rec.id, wid(c))));
  });

  for (const method of ['put', 'patch'] as const) {
    app[method](`${BASE}/:wid`, workspaceCallers, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      return c.json(one(await w.update(rec.id, wid(c), parseWorkloadUpdate(await readJson(c)))));
    });
  }

  app.delete(`${BASE}/:wid`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    await w.remove(rec.id, wid(c));
    return c.json(ok({ message: 'Workload deleted', id: wid(c), deleted: true }));
  });

  for (const action of ['start', 'stop'] as const) {
    app.post(`${BASE}/:wid/${action}`, workspaceCallers, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      return c.json(one(await w.power(rec.id, wid(c), action)));
    });
  }

  app.get(`${BASE}/:wid/status`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const v = await w.get(rec.id, wid(c));
    const { id, status, pid, restarts, exit_code, error, started_at, finished_at, enabled } = v;
    return c.json(ok({ id, workload_id: id, status, pid, restarts, exit_code, error, started_at, finished_at, enabled }));
  });

  app.get(`${BASE}/:wid/logs`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const logs = await w.logs(rec.id, wid(c), parseTail(c.req.query(), 200));
    return c.json(ok({ workload_id: wid(c), logs, entries: logs, output: logs.map((l) => l.data).join('') }));
  });

  app.get(`${BASE}/:wid/logs/stream`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return sseResponse(await w.openLogStream(rec.id, wid(c), parseTail(c.req.query(), 200)));
  });

  app.get(`${BASE}/:wid/stats`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const stats = await w.stats(rec.id, wid(c));
    return c.json(ok({ ...stats, stats }));
  });

  app.get(`${BASE}/:wid/stats/stream`, workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return sseResponse(await w.openStatsStream(rec.id, wid(c)));
  });

  return app;
}
