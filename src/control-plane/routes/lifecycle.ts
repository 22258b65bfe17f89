/**
 * Lifecycle & power (control-plane.md §3). Power actions go through the domain's
 * transition table; an illegal one is 409 `invalid_state` with the current state.
 * DELETE /lifecycle destroys the sandbox and its layer but keeps the record
 * (`archived`), after a final archive when asked (`?archive=true|<version>`).
 */
import { Hono, type Context } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseDestroy, parseIdleBody, parsePermanent, parsePing, parseTemporary, parseTtlChange } from '../../contract/lifecycle.js';
import type { PowerAction } from '../../domain/lifecycle.js';
import type { LifecycleChange } from '../../domain/record-changes.js';
import { idleOf } from '../../domain/deadlines.js';
import { uptimeSeconds, ttlExpiresAt, workspaceView } from '../../domain/view.js';
import type { SnapshotCapabilities } from '../../drivers/driver.js';
import type { WorkspaceRecord } from '../../store/store.js';
import { workspaceCallers, workspaceCallersWhileSuspended } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

const POWER: PowerAction[] = ['start', 'stop', 'restart', 'pause', 'resume'];

function snapshotFields(caps: SnapshotCapabilities | null) {
  return {
    snapshot_supported: caps !== null,
    snapshot_unavailable_reason: caps ? null : 'The driver in use cannot snapshot workspaces',
    snapshot_mode: caps ? 'filesystem' : null,
    snapshot_copy_on_write: caps?.copyOnWrite ?? false,
    memory_snapshot_supported: caps?.memory ?? false,
    memory_snapshot_unavailable_reason: caps?.memoryUnavailableReason ?? null,
  };
}

function lifecycleStatus(rec: WorkspaceRecord, caps: SnapshotCapabilities | null) {
  return {
    mode: rec.mode,
    status: rec.state,
    restart_policy: rec.config.restart_policy,
    max_restarts: rec.config.max_restarts,
    restart_info: rec.lifecycle.restart,
    ttl: rec.config.ttl,
    ttl_action: rec.config.ttl_action,
    remove_on_exit: rec.config.remove_on_exit,
    uptime: uptimeSeconds(rec),
    expires_at: ttlExpiresAt(rec),
    created_at: rec.createdAt,
    idle: idleOf(rec.config),
    sleeping: rec.lifecycle.asleep !== null,
    asleep_since: rec.lifecycle.asleep?.since ?? null,
    ...snapshotFields(caps),
  };
}

export function lifecycleRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const caps = () => ctx.layerCapabilities();

  for (const action of POWER) {
    app.post(`/workspace/:id/${action}`, action === 'stop' ? workspaceCallersWhileSuspended : workspaceCallers, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      const after = await ctx.workspaces.power(rec.id, action);
      const ws = after ? workspaceView(after, await ctx.publicAccess.summaries(after.id)) : null;
      return c.json(ok({ action, status: after?.state ?? 'deleted', workspace: ws }));
    });
  }

  app.get('/workspace/:id/lifecycle', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok(lifecycleStatus(rec, caps())));
  });

  app.delete('/workspace/:id/lifecycle', workspaceCallersWhileSuspended, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { archive } = parseDestroy(c.req.query(), await readObject(c));
    const r = await ctx.archives.destroyVm(rec.id, archive);
    return c.json(ok({
      message: 'Workspace VM destroyed; the record and its archives remain', id: rec.id,
      status: r.rec?.state ?? 'deleted', archive: r.archive,
      workspace: r.rec ? workspaceView(r.rec, await ctx.publicAccess.summaries(r.rec.id)) : null,
    }));
  });

  /** Loads the workspace, reads the body, parses it (before any wait) and applies the change it makes. */
  const patchLifecycle = async (c: Context<Env>, change: (body: Record<string, unknown>) => LifecycleChange) => {
    const rec = await loadWorkspace(ctx, c);
    const ch = change(await readObject(c));
    const saved = await ctx.workspaces.updateLifecycle(rec.id, () => ch);
    return c.json(ok(lifecycleStatus(saved, caps())));
  };

  app.post('/workspace/:id/lifecycle/permanent', workspaceCallers, (c) =>
    patchLifecycle(c, (body) => ({ mode: 'permanent', ttl: null, ...parsePermanent(body) })));

  // Temporary workspaces have a TTL instead of an idle policy.
  app.post('/workspace/:id/lifecycle/temporary', workspaceCallers, (c) =>
    patchLifecycle(c, (body) => ({ mode: 'temporary', ...parseTemporary(body), idle: null })));

  app.put('/workspace/:id/lifecycle/ttl', workspaceCallers, (c) => patchLifecycle(c, parseTtlChange));

  app.post('/workspace/:id/ping', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const { ttl } = parsePing(await readObject(c));
    ctx.touch(rec.id);
    const saved = await ctx.workspaces.updateLifecycle(rec.id, () => ({ ttl, renew: true }));
    return c.json(ok(lifecycleStatus(saved, caps())));
  });

  app.put('/workspace/:id/lifecycle/idle', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const policy = parseIdleBody(await readObject(c));
    ctx.idle.validate(rec.mode, policy);
    const saved = await ctx.workspaces.updateLifecycle(rec.id, () => ({ idle: policy }));
    return c.json(ok(lifecycleStatus(saved, caps())));
  });

  return app;
}
