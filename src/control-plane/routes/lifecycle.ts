/**
 * Lifecycle & power (control-plane.md §3). Power actions go through the domain's
 * transition table; an illegal one is 409 `invalid_state` with the current state.
 */
import { Hono, type Context } from 'hono';
import { ok } from '../../contract/envelope.js';
import { AppError } from '../../contract/errors.js';
import { parseDuration } from '../../contract/duration.js';
import { TTL_ACTIONS } from '../../contract/workspace.js';
import type { PowerAction } from '../../domain/lifecycle.js';
import { uptimeSeconds, ttlExpiresAt, workspaceView } from '../../domain/view.js';
import type { WorkspaceRecord } from '../../store/store.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';

const POWER: PowerAction[] = ['start', 'stop', 'restart', 'pause', 'resume'];

function lifecycleStatus(rec: WorkspaceRecord, snapshotSupported: boolean) {
  return {
    mode: rec.mode,
    status: rec.state,
    restart_policy: rec.config.restart_policy,
    max_restarts: rec.config.max_restarts,
    ttl: rec.config.ttl,
    ttl_action: rec.config.ttl_action,
    remove_on_exit: rec.config.remove_on_exit,
    uptime: uptimeSeconds(rec),
    expires_at: ttlExpiresAt(rec),
    created_at: rec.createdAt,
    idle: (rec.config.extra.idle as unknown) ?? null,
    snapshot_supported: snapshotSupported,
    snapshot_unavailable_reason: snapshotSupported ? null : 'The driver in use cannot snapshot process memory',
  };
}

function ttlFrom(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  const secs = parseDuration(v);
  if (secs === null) throw new AppError('validation_error', `${field} must be seconds or a duration like "30m"`, { field });
  return secs;
}

function ttlActionFrom(body: Record<string, unknown>) {
  const v = body.ttl_action;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(TTL_ACTIONS as readonly string[]).includes(v)) {
    throw new AppError('validation_error', `ttl_action must be one of ${TTL_ACTIONS.join(', ')}`, { field: 'ttl_action' });
  }
  return v as (typeof TTL_ACTIONS)[number];
}

export function lifecycleRoutes(ctx: ControlPlaneContext, snapshotSupported: boolean): Hono<Env> {
  const app = new Hono<Env>();

  for (const action of POWER) {
    app.post(`/workspace/:id/${action}`, async (c) => {
      const rec = await loadWorkspace(ctx, c);
      const after = await ctx.workspaces.power(rec.id, action);
      const ws = after ? workspaceView(after, await ctx.publicAccess.summaries(after.id)) : null;
      return c.json(ok({ action, status: after?.state, workspace: ws }));
    });
  }

  app.get('/workspace/:id/lifecycle', async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok(lifecycleStatus(rec, snapshotSupported)));
  });

  app.delete('/workspace/:id/lifecycle', async (c) => {
    const rec = await loadWorkspace(ctx, c);
    await ctx.workspaces.power(rec.id, 'delete');
    return c.json(ok({ message: 'Workspace destroyed', id: rec.id }));
  });

  const patchLifecycle = async (c: Context<Env>, change: (rec: WorkspaceRecord, body: Record<string, unknown>) => Record<string, unknown>) => {
    const rec = await loadWorkspace(ctx, c);
    const body = await readObject(c);
    const saved = await ctx.workspaces.updateLifecycle(rec.id, (r) => change(r, body));
    return c.json(ok(lifecycleStatus(saved, snapshotSupported)));
  };

  app.post('/workspace/:id/lifecycle/permanent', (c) =>
    patchLifecycle(c, (_r, body) => ({ mode: 'permanent', ttl: null, restart_policy: body.restart_policy })));

  app.post('/workspace/:id/lifecycle/temporary', (c) =>
    patchLifecycle(c, (_r, body) => ({
      mode: 'temporary',
      ttl: ttlFrom(body, 'ttl'),
      ttl_action: ttlActionFrom(body),
      remove_on_exit: body.remove_on_exit,
    })));

  app.put('/workspace/:id/lifecycle/ttl', (c) =>
    patchLifecycle(c, (_r, body) => ({ ttl: ttlFrom(body, 'ttl'), ttl_action: ttlActionFrom(body) })));

  app.post('/workspace/:id/ping', (c) =>
    patchLifecycle(c, (_r, body) => ({ ttl: ttlFrom(body, 'ttl_seconds'), renew: true })));

  return app;
}
