/**
 * Which callers each route accepts (spec README §2.1). Every control-plane route puts one
 * `allow(...)` middleware first; it carries its declaration (`access`) so the route table
 * can be read back from the router (test/e2e/scopes.test.ts walks it). A caller of a kind
 * the route does not list gets 403 `forbidden` before anything is read or parsed.
 *
 * A caller pinned to a suspended namespace may read, stop and delete (routes declared
 * `whileSuspended`), nothing else: 403 `namespace_suspended`.
 */
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../contract/errors.js';
import type { Scope } from '../domain/principal.js';
import type { Env } from './context.js';

export interface RouteAccess {
  /** Caller kinds this route answers; empty for public routes (no credentials at all). */
  scopes: readonly Scope[];
  /** A mutation a suspended namespace's callers may still make (stop, delete). */
  whileSuspended: boolean;
}

export type ScopedMiddleware = MiddlewareHandler<Env> & { access: RouteAccess };

const READS = new Set(['GET', 'HEAD']);

export function allow(scopes: readonly Scope[], opts: { whileSuspended?: boolean } = {}): ScopedMiddleware {
  const access: RouteAccess = { scopes, whileSuspended: opts.whileSuspended ?? false };
  const mw = (async (c, next) => {
    const p = c.get('principal');
    if (!scopes.includes(p.kind)) {
      throw new AppError('forbidden', `This route does not accept ${p.kind}-scoped credentials`, { scope: p.kind });
    }
    const pin = p.kind === 'namespace' || p.kind === 'workspace' ? p.namespace : null;
    if (pin?.suspended && !READS.has(c.req.method) && !access.whileSuspended) {
      throw new AppError('namespace_suspended', `Namespace ${pin.slug} is suspended`, { field: 'namespace', namespace: pin.slug });
    }
    await next();
  }) as ScopedMiddleware;
  mw.access = access;
  return mw;
}

/** Routes anyone may call without credentials (`/`, `/healthz`; `/metrics` checks its own token). */
export const publicRoute: ScopedMiddleware = Object.assign((async (_c, next) => next()) as MiddlewareHandler<Env>, {
  access: { scopes: [], whileSuspended: true } as RouteAccess,
});

/** A workspace's own routes: the admin, its namespace, the workspace itself. */
export const workspaceCallers = allow(['admin', 'namespace', 'workspace']);
/** Stop and delete: allowed to a suspended namespace's callers too. */
export const workspaceCallersWhileSuspended = allow(['admin', 'namespace', 'workspace'], { whileSuspended: true });
/** Routes that make workspaces or widen a caller's reach: the admin and a namespace caller. */
export const namespaceCallers = allow(['admin', 'namespace']);
export const adminOnly = allow(['admin']);
/** Usage and cost reads: every caller, each sees its own. */
export const usageReaders = allow(['admin', 'namespace', 'workspace', 'billing']);
/** Credits and quotas: the admin and billing keys. */
export const billingCallers = allow(['admin', 'billing']);
