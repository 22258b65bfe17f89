/**
 * Metrics / stats of one workspace (control-plane.md §12; README §8 for the stream):
 * GET /workspace/:id/stats, …/stats/stream (SSE), …/info, …/config.
 *
 * The stream is one subscription to the workspace's sampler (src/domain/sampler.ts) sent
 * through the control plane's SSE helper (sse-stream.ts): one `data: {StatsEvent}` line per
 * tick, `: ping` every 15 s, a final `state: 'stopped'` event and the end of the body when
 * the workspace stops; a client that goes away unsubscribes (the last one stops the
 * sampler). Errors before streaming are the usual JSON envelope.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { AppError } from '../../contract/errors.js';
import { isLive } from '../../domain/lifecycle.js';
import type { StatsHub } from '../../domain/sampler.js';
import type { StatsEvent } from '../../domain/stats.js';
import { configView, hostnameOf, uptimeSeconds } from '../../domain/view.js';
import type { WorkspaceRecord } from '../../store/store.js';
import { workspaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace } from '../http.js';
import { sseResponse } from '../sse-stream.js';
import { pushIterable } from '../../util/push-iterable.js';

function requireLive(rec: WorkspaceRecord): void {
  if (!isLive(rec.state)) {
    throw new AppError('workspace_not_running', `Workspace is ${rec.state}; start it first`, {
      field: 'status', current_state: rec.state, workspace_id: rec.id,
    });
  }
}

/**
 * The SSE response of one subscriber: a subscription to the workspace's sampler, read as
 * fast as the client reads (a slow client loses the oldest ticks, never memory).
 */
export function statsStream(hub: StatsHub, rec: WorkspaceRecord, heartbeatMs?: number): Response {
  return sseResponse((signal) => pushIterable<StatsEvent>((push, end) => hub.subscribe(rec, { event: push, end }), signal), heartbeatMs);
}

export function infoView(rec: WorkspaceRecord, host: ControlPlaneContext['host'], pids: number): Record<string, unknown> {
  const uptime = uptimeSeconds(rec);
  return {
    workspace_id: rec.id,
    driver: host.driver,
    kernel: host.kernelRelease,
    kernel_release: host.kernelRelease,
    image: rec.image,
    image_id: rec.image,
    ip: rec.ip,
    state: rec.state,
    status: rec.state,
    pids,
    uptime,
    uptime_seconds: uptime,
    started_at: rec.startedAt,
    resources: { cpus: rec.config.cpus, memory_mb: rec.config.memory_mb, disk_size_mb: rec.config.disk_size_mb },
    hostname: hostnameOf(rec),
  };
}

export function statsRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/:id/stats', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    requireLive(rec);
    const stats = await ctx.statsHub.sampleOnce(rec);
    return c.json({ ...stats, ...ok({ stats }) });
  });

  app.get('/workspace/:id/stats/stream', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    requireLive(rec);
    return statsStream(ctx.statsHub, rec);
  });

  app.get('/workspace/:id/info', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    // One reading is enough for the process count (no CPU %, so no primer).
    const pids = isLive(rec.state) ? (await ctx.statsHub.read(rec).catch(() => null))?.stats.pids ?? 0 : 0;
    const info = infoView(rec, ctx.host, pids);
    return c.json({ ...info, ...ok({ info }) });
  });

  app.get('/workspace/:id/config', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ config: configView(rec) }));
  });

  return app;
}
