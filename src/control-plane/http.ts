/**
 * Small helpers shared by the route modules: body parsing that treats an empty
 * body as `{}` (the SDK sends bodiless POSTs with a JSON content type and bodies
 * on DELETE), and workspace lookup with scope checks.
 */
import type { Context } from 'hono';
import { AppError } from '../contract/errors.js';
import { BODY_LIMITS, loadHttpLimits } from '../config/limits.js';
import { readCapped, refuseDeclared, webStreamChunks } from '../util/capped-body.js';
import type { WorkspaceRecord } from '../store/store.js';
import { reaches } from '../domain/principal.js';
import type { ControlPlaneContext, Env } from './context.js';

const MAX_BODY_BYTES = BODY_LIMITS.controlPlaneJson;
/** Longest silence while a body is arriving (WARREN_BODY_IDLE_TIMEOUT_MS; environment only). */
let bodyIdleMs: number | undefined;
const idleMs = (): number => (bodyIdleMs ??= loadHttpLimits().bodyIdleTimeoutMs);

/**
 * A streamed upload (image archive, build context) that fails with 408 request_timeout
 * (field body) when the client stops sending for the body-idle timeout; null stays null.
 */
export function idleGuardedBody(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  if (!body) return null;
  const chunks = webStreamChunks(body, idleMs());
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const next = await chunks.next(); // a 408 here errors the stream for its reader
      if (next.done) ctrl.close();
      else ctrl.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/**
 * The body as UTF-8 text, capped in bytes while it streams (src/util/capped-body.ts): a
 * declared Content-Length past the cap is refused before anything is read, and a body
 * without one is refused at the first chunk that crosses it — never read whole first, and
 * never measured in characters (a character can be four bytes). A body that stops arriving
 * is a 408 request_timeout.
 */
async function readCappedText(c: Context<Env>): Promise<string> {
  refuseDeclared(c.req.header('content-length'), MAX_BODY_BYTES);
  const body = c.req.raw.body;
  if (!body) return '';
  const bytes = await readCapped(webStreamChunks(body, idleMs()), null, MAX_BODY_BYTES);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('bad_request', 'Request body is not valid UTF-8', { field: 'body' });
  }
}

export async function readJson(c: Context<Env>): Promise<unknown> {
  const text = await readCappedText(c);
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

/**
 * Loads `:id` (id or slug) for a caller the route's scopes already admitted. A scoped
 * caller gets the same 403 for a workspace outside its reach and for one that does not
 * exist, so it learns nothing about others.
 */
export async function loadWorkspace(ctx: ControlPlaneContext, c: Context<Env>): Promise<WorkspaceRecord> {
  const idOrSlug = c.req.param('id');
  if (!idOrSlug) throw new AppError('bad_request', 'Missing workspace id', { field: 'id' });
  const principal = c.get('principal');
  if (principal.kind === 'admin' || principal.kind === 'billing') return ctx.workspaces.get(idOrSlug);
  const rec = await ctx.workspaces.find(idOrSlug);
  if (!rec || !reaches(principal, rec)) throw outOfScope(`Workspace ${idOrSlug}`, 'id');
  return rec;
}

/** The 403 a scoped caller gets for anything outside its reach, existing or not. */
export function outOfScope(what: string, field: string): AppError {
  return new AppError('forbidden', `${what} is not in this caller's scope`, { field });
}

/** The caller's client id (`client_id` of the objects it owns); '' for a token. */
export function clientIdOf(c: Context<Env>): string {
  const p = c.get('principal');
  return p.kind === 'admin' || p.kind === 'billing' ? p.clientId : p.kind === 'namespace' ? p.clientId ?? '' : '';
}
