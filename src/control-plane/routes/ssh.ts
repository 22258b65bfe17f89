/**
 * SSH (control-plane.md §7), answered with `SshStatus` at the top level:
 *
 * - GET  /workspace/:id/ssh           status, with `connection` (the CLI's `ssh connect`/`scp` read it) or null
 * - POST /workspace/:id/ssh/enable    status + `ssh_password` when a fresh password was made (shown once)
 * - POST /workspace/:id/ssh/disable   status; live sessions end at once
 * - POST /workspace/:id/ssh/password  `{ password, user? }` → status (passwords work again)
 * - POST /workspace/:id/ssh/key       `{ public_key, user? }` → status (key-only from now on)
 *
 * A stopped workspace only records the change; it applies at the next start.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseSshKey, parseSshPassword } from '../../contract/ssh.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { loadWorkspace, readObject } from '../http.js';
import { workspaceCallers, workspaceCallersWhileSuspended } from '../scopes.js';

export function sshRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/workspace/:id/ssh', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ...(await ctx.ssh.status(rec.id)) }));
  });

  app.post('/workspace/:id/ssh/enable', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ...(await ctx.ssh.enable(rec.id)) }));
  });

  // Disabling only takes power away: allowed to a suspended namespace's callers too.
  app.post('/workspace/:id/ssh/disable', workspaceCallersWhileSuspended, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    return c.json(ok({ ...(await ctx.ssh.disable(rec.id)) }));
  });

  app.post('/workspace/:id/ssh/password', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const cmd = parseSshPassword(await readObject(c));
    return c.json(ok({ ...(await ctx.ssh.setPassword(rec.id, cmd)), message: 'SSH password set' }));
  });

  app.post('/workspace/:id/ssh/key', workspaceCallers, async (c) => {
    const rec = await loadWorkspace(ctx, c);
    const cmd = parseSshKey(await readObject(c));
    return c.json(ok({ ...(await ctx.ssh.setKey(rec.id, cmd)), message: 'SSH public key set' }));
  });

  return app;
}
