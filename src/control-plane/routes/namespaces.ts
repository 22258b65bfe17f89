/**
 * Namespaces (control-plane.md §21): create, ensure, list, get (id or slug), update,
 * delete (JSON body `{ deleteWorkspaces }`), suspend, activate, stop-workspaces, activity
 * and usage. Answers `{ success, data }` (lists also `namespaces` and `pagination`).
 * Admin callers only until scoped namespace tokens exist.
 */
import { Hono } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseDays, parseNamespaceFields, parseNamespaceList, parsePage } from '../../contract/namespaces.js';
import type { NamespaceRecord } from '../../store/store.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { adminOnly, clientIdOf, readJson } from '../http.js';

function view(ns: NamespaceRecord, clientId: string, workspaces?: number): Record<string, unknown> {
  return { ...ns, client_id: clientId, ...(workspaces === undefined ? {} : { workspace_count: workspaces }) };
}

export function namespaceRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const ns = ctx.namespaces;
  app.use('/namespaces', adminOnly);
  app.use('/namespaces/*', adminOnly);

  app.post('/namespaces', async (c) => {
    const created = await ns.create(parseNamespaceFields(await readJson(c), false));
    return c.json(ok({ data: view(created, clientIdOf(c), 0) }), 201);
  });

  app.post('/namespaces/ensure', async (c) => {
    const { created, ns: rec } = await ns.ensure(parseNamespaceFields(await readJson(c), false));
    return c.json(ok({ created, data: view(rec, clientIdOf(c)) }), created ? 201 : 200);
  });

  app.get('/namespaces', async (c) => {
    const q = parseNamespaceList(c.req.query());
    const { items, total } = await ns.list(q);
    const data = await Promise.all(items.map(async (n) => view(n, clientIdOf(c), (await ns.members(n)).length)));
    return c.json(ok({ data, namespaces: data, pagination: { total, limit: q.limit, offset: q.offset } }));
  });

  app.get('/namespaces/:id', async (c) => {
    const rec = await ns.get(c.req.param('id'));
    return c.json(ok({ data: view(rec, clientIdOf(c), (await ns.members(rec)).length) }));
  });

  app.put('/namespaces/:id', async (c) => {
    const rec = await ns.update(c.req.param('id'), parseNamespaceFields(await readJson(c), true));
    return c.json(ok({ data: view(rec, clientIdOf(c)) }));
  });

  app.delete('/namespaces/:id', async (c) => {
    const body = await readJson(c);
    const flag = body && typeof body === 'object' ? (body as Record<string, unknown>).deleteWorkspaces : undefined;
    const res = await ns.remove(c.req.param('id'), flag === true || flag === 'true');
    return c.json(ok({ message: 'Namespace deleted', ...res }));
  });

  app.post('/namespaces/:id/suspend', async (c) => {
    const rec = await ns.suspend(c.req.param('id'));
    return c.json(ok({ message: `Namespace ${rec.slug} suspended`, data: view(rec, clientIdOf(c)) }));
  });

  app.post('/namespaces/:id/activate', async (c) => {
    const rec = await ns.activate(c.req.param('id'));
    return c.json(ok({ message: `Namespace ${rec.slug} activated`, data: view(rec, clientIdOf(c)) }));
  });

  app.post('/namespaces/:id/stop-workspaces', async (c) => {
    const stopped = await ns.stopWorkspaces(c.req.param('id'));
    return c.json(ok({ message: `Stopped ${stopped.length} workspace(s)`, stopped, count: stopped.length }));
  });

  app.get('/namespaces/:id/activity', async (c) => {
    return c.json(ok({ data: await ns.activity(c.req.param('id'), parsePage(c.req.query())) }));
  });

  app.get('/namespaces/:id/usage', async (c) => {
    return c.json(ok({ data: await ns.usage(c.req.param('id'), parseDays(c.req.query())) }));
  });

  return app;
}
