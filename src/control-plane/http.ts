/**
 * Small helpers shared by the route modules: body parsing that treats an empty
 * body as `{}` (the SDK sends bodiless POSTs with a JSON content type and bodies
 * on DELETE), and workspace lookup with scope checks.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../contract/errors.js';
import type { WorkspaceRecord } from '../store/store.js';
import type { ControlPlaneContext, Env } from './context.js';

const MAX_BODY_BYTES = 1024 * 1024;

export async function readJson(c: Context<Env>): Promise<unknown> {
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw new AppError('payload_too_large', 'Request body is larger than 1 MiB');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('bad_request', 'Request body is not valid JSON', { field: 'body' });
  }
}

export async function readObject(c: Context<Env>): Promise<Record<string, unknown>> {
  const body = await readJson(c);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('validation_error', 'Request body must be a JSON object', { field: 'body' });
  }
  return body as Record<string, unknown>;
}

/** Loads `:id` (id or slug) and enforces a workspace-scoped caller's scope. */
export async function loadWorkspace(ctx: ControlPlaneContext, c: Context<Env>): Promise<WorkspaceRecord> {
  const idOrSlug = c.req.param('id');
  if (!idOrSlug) throw new AppError('bad_request', 'Missing workspace id', { field: 'id' });
  const principal = c.get('principal');
  const rec = await ctx.workspaces.get(idOrSlug);
  if (principal.kind === 'workspace' && principal.workspaceId !== rec.id) {
    // Same answer as a missing workspace: a scoped token learns nothing about others.
    throw new AppError('not_found', `Workspace ${idOrSlug} not found`, { field: 'id' });
  }
  return rec;
}

/** Middleware for route modules only admin callers may use. */
export const adminOnly: MiddlewareHandler<Env> = async (c, next) => {
  requireAdmin(c);
  await next();
};

/** The admin caller's client id (`client_id` of the objects it owns); '' for a token. */
export function clientIdOf(c: Context<Env>): string {
  const p = c.get('principal');
  return p.kind === 'admin' ? p.clientId : '';
}

export function requireAdmin(c: Context<Env>): void {
  if (c.get('principal').kind !== 'admin') {
    throw new AppError('forbidden', 'This token is scoped to one workspace and cannot use this endpoint');
  }
}

export function intParam(v: string | undefined, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError('validation_error', `${field} must be an integer between ${min} and ${max}`, { field });
  }
  return n;
}
