/**
 * Namespaces (control-plane.md §21): create, ensure, list, get (id or slug), update,
 * delete (JSON body `{ deleteWorkspaces }`), suspend, activate, stop-workspaces, activity
 * and usage. Answers `{ success, data }` (lists also `namespaces` and `pagination`).
 * Admin callers only until scoped namespace tokens exist.
 */
import { Hono, type Context } from 'hono';
import { ok } from '../../contract/envelope.js';
import { parseDays, parseNamespaceFields, parseNamespaceList, parsePage } from '../../contract/namespaces.js';
import type { NamespaceRecord } from '../../store/store.js';
import type { ControlPlaneContext, Env } from '../context.js';
import { clientIdOf, outOfScope, readJson } from '../http.js';
import { adminOnly, allow, namespaceCallers } from '../scopes.js';

/** Stopping a namespace's workspaces is allowed to its own callers even while it is suspended. */
const stopCallers = allow(['admin', 'namespace'], { whileSuspended: true });

function view(ns: NamespaceRecord, clientId: string, workspaces?: number): Record<string, unknown> {
  return { ...ns, client_id: clientId, ...(workspaces === undefined ? {} : { workspace_count: workspaces }) };
}

export function namespaceRoutes(ctx: ControlPlaneContext): Hono<Env> {
  const app = new Hono<Env>();
  const ns = ctx.namespaces;
  /** `:id` (id or slug) as the caller may name it: a namespace caller only its own (403 otherwise, existing or not). */
  const own = (c: Context<Env>): string => {
    const id = c.req.param('id') ?? '';
    const p = c.get('principal');
    if (p.kind === 'namespace' && id !== p.namespace.id && id !== p.namespace.slug) throw outOfScope(`Namespace ${id}`, 'id');
    return id;
  };

  app.post('/namespaces', adminOnly, async (c) => {
    const created = await ns.create(parseNamespaceFields(await readJson(c), false));
    return c.json(ok({ data: view(created, clientIdOf(c), 0) }), 201);
  });

  app.post('/namespaces/ensure', adminOnly, async (c) => {
    const { created, ns: rec } = await ns.ensure(parseNamespaceFields(await readJson(c), false));
    return c.json(ok({ created, data: view(rec, clientIdOf(c)) }), created ? 201 : 200);
  });

  app.get('/namespaces', namespaceCallers, async (c) => {
    const q = parseNamespaceList(c.req.query());
    const p = c.get('principal');
    const { items, total } = await ns.list(q, p.kind === 'namespace' ? p.namespace.id : undefined);
    const data = await Promise.all(items.map(async (n) => view(n, clientIdOf(c), (await ns.members(n)).length)));
    return c.json(ok({ data, namespaces: data, pagination: { total, limit: q.limit, offset: q.offset } }));
  });

  app.get('/namespaces/:id', namespaceCallers, async (c) => {
    const rec = await ns.get(own(c));
    return c.json(ok({ data: view(rec, clientIdOf(c), (await ns.members(rec)).length) }));
  });

  app.put('/namespaces/:id', adminOnly, async (c) => {
    const rec = await ns.update(c.req.param('id'), parseNamespaceFields(await readJson(c), true));
    return c.json(ok({ data: view(rec, clientIdOf(c)) }));
  });

  app.delete('/namespaces/:id', adminOnly, async (c) => {
    const body = await readJson(c);
    const flag = body && typeof body === 'object' ? (body as Record<string, unknown>).deleteWorkspaces : undefined;
    const res = await ns.remove(c.req.param('id'), flag === true || flag === 'true');
    return c.json(ok({ message: 'Namespace deleted', ...res }));
  });

  app.post('/namespaces/:id/suspend', adminOnly, async (c) => {
    const rec = await ns.suspend(c.req.param('id'));
    return c.json(ok({ message: `Namespace ${rec.slug} suspended`, data: view(rec, clientIdOf(c)) }));
  });

  app.post('/namespaces/:id/activate', adminOnly, async (c) => {
    const rec = await ns.activate(c.req.param('id'));
    return c.json(ok({ message: `Namespace ${rec.slug} activated`, data: view(rec, clientIdOf(c)) }));
  });

  app.post('/namespaces/:id/stop-workspaces', stopCallers, async (c) => {
    const stopped = await ns.stopWorkspaces(own(c));
    return c.json(ok({ message: `Stopped ${stopped.length} workspace(s)`, stopped, count: stopped.length }));
  });

  app.get('/namespaces/:id/activity', namespaceCallers, async (c) => {
    return c.json(ok({ data: await ns.activity(own(c), parsePage(c.req.query())) }));
  });

  app.get('/namespaces/:id/usage', namespaceCallers, async (c) => {
    return c.json(ok({ data: await ns.usage(own(c), parseDays(c.req.query())) }));
  });

  return app;
}
