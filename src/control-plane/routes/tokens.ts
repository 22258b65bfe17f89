/**
 * Scoped access (control-plane.md §1 and Warren's own key management):
 * - POST /tokens: a namespace- or workspace-scoped JWT (`{token, expiresAt, scope, ttl}`),
 *   for the admin, or a namespace caller within its own namespace (scopes only narrow);
 * - GET /tokens, DELETE /tokens/:id: the live tokens a caller issued or may see, revocation;
 * - POST /tokens/signing-key/rotate: a new signing key (admin);
 * - /api-keys: namespace, billing and admin API keys, the secret shown once (admin).
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseCreateApiKey, parseIssueToken, parseRotateKey } from '../../contract/tokens.js';
import type { AccessTokenRecord } from '../../store/store.js';
import { adminOnly, allow, namespaceCallers } from '../scopes.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { clientIdOf, readJson } from '../http.js';

/** Revoking a token is allowed to a suspended namespace's callers too: it only takes power away. */
const revokeCallers = allow(['admin', 'namespace'], { whileSuspended: true });

function tokenView(t: AccessTokenRecord) {
  return {
    id: t.id, scope: t.scope, namespace_id: t.namespaceId, workspace_id: t.workspaceId, label: t.label,
    issued_by: t.issuedBy, created_at: t.createdAt, expires_at: t.expiresAt, revoked: t.revokedAt !== null, revoked_at: t.revokedAt,
  };
}

export function tokenRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();

  app.post('/tokens', namespaceCallers, async (c) => {
    const issued = await ctx.tokens.issue(parseIssueToken(await readJson(c)), c.get('principal'));
    return c.json(ok({ ...issued }), 201);
  });

  app.get('/tokens', namespaceCallers, async (c) => {
    const tokens = (await ctx.tokens.list(c.get('principal'))).map(tokenView);
    return c.json(ok({ tokens, total: tokens.length }));
  });

  app.delete('/tokens/:id', revokeCallers, async (c) => {
    await ctx.tokens.revoke(c.req.param('id'), c.get('principal'));
    return c.json(ok({ message: 'Token revoked', id: c.req.param('id') }));
  });

  app.post('/tokens/signing-key/rotate', adminOnly, async (c) => {
    const r = await ctx.tokens.rotate(parseRotateKey(await readJson(c)).revokeExisting);
    return c.json(ok({ message: 'Signing key rotated', key_id: r.kid, revoked_tokens: r.revoked }));
  });

  app.post('/api-keys', adminOnly, async (c) => {
    const key = await ctx.apiKeys.create(parseCreateApiKey(await readJson(c)));
    return c.json(ok({ key, client_id: key.client_id, client_secret: key.client_secret }), 201);
  });

  app.get('/api-keys', adminOnly, async (c) => {
    const keys = await ctx.apiKeys.list();
    return c.json(ok({ keys, total: keys.length }));
  });

  app.delete('/api-keys/:clientId', adminOnly, async (c) => {
    await ctx.apiKeys.remove(c.req.param('clientId'), clientIdOf(c));
    return c.json(ok({ message: 'API key deleted', client_id: c.req.param('clientId') }));
  });

  return app;
}
