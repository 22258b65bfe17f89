/**
 * The route descriptors: one record per route of the control plane and of the runtime API
 * (as reached through the gateway), the single source of the OpenAPI document
 * (`openapi.ts`, served at `GET /openapi.json`). A descriptor states who may call the route,
 * its path parameters, query, request body and success bodies as zod schemas, and every
 * error code it can answer (statuses come from the one registry, `../errors.ts`).
 *
 * Paths are written as Hono patterns (`/workspace/:id`, `/images/:name{.+}`, `/…/file/*`), so
 * a unit test can hold the descriptors and the router to each other, both ways.
 */
import { z } from 'zod';
import type { ErrorCode } from '../errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** The caller kinds of spec README §2.1 (`src/domain/principal.ts` Scope); empty: public. */
export type Caller = 'admin' | 'namespace' | 'workspace' | 'billing';
/** What a success answers besides JSON: an SSE stream, NDJSON, bytes, text, a WebSocket upgrade. */
export type BodyKind = 'json' | 'sse' | 'ndjson' | 'binary' | 'text' | 'websocket';

export interface RouteDescriptor {
  api: 'control-plane' | 'runtime';
  method: HttpMethod;
  /** Hono pattern: `:name` params, `:name{regex}`, a trailing `*` (named `path` in the document). */
  path: string;
  summary: string;
  /** Who may call it; [] is public (no credentials). Runtime routes take the runtime token instead. */
  callers: readonly Caller[];
  /** A mutation a suspended namespace's callers may still make (stop, delete). */
  whileSuspended?: boolean;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** How the request body is sent: JSON (default), a tar stream or raw bytes. */
  bodyKind?: 'json' | 'tar' | 'binary';
  /** Success statuses and their JSON bodies (a BodyKind for bodies that are not JSON). */
  responses: Readonly<Record<number, z.ZodType | BodyKind>>;
  /** Route-specific error codes; the ones every route shares are added by `errorCodesOf`. */
  errors: readonly ErrorCode[];
}

/**
 * Codes every authenticated control-plane route can answer: no or bad credentials, a caller
 * kind the route does not take, the request-rate limit, and the generic server error.
 */
const AUTHENTICATED: readonly ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited', 'server_error'];
/**
 * Codes of reading a body (src/control-plane/http.ts, src/util/capped-body.ts): not JSON or not UTF-8,
 * too large, not an object, or stalled past the body-idle timeout (src/util/http-guards.ts).
 */
const WITH_BODY: readonly ErrorCode[] = ['bad_request', 'payload_too_large', 'validation_error', 'request_timeout'];
const READS = new Set<HttpMethod>(['GET']);

/** Every code a route can answer: its own, plus those of auth, body reading and suspension. */
export function errorCodesOf(d: RouteDescriptor): ErrorCode[] {
  const codes = new Set<ErrorCode>(d.errors);
  codes.add('server_error');
  codes.add('rate_limited'); // any route: the per-client connection cap (src/util/http-guards.ts)
  if (d.api === 'control-plane' && d.callers.length > 0) AUTHENTICATED.forEach((c) => codes.add(c));
  if (d.api === 'runtime' && d.callers.length > 0) {
    ['unauthorized', 'forbidden', 'server_error', 'agent_unreachable', 'workspace_not_running',
      'runtime_api_disabled', 'unknown_target', 'rate_limited'].forEach((c) => codes.add(c as ErrorCode));
  }
  if (d.body || d.query) WITH_BODY.forEach((c) => codes.add(c));
  const pinned = d.callers.includes('namespace') || d.callers.includes('workspace');
  if (d.api === 'control-plane' && pinned && !READS.has(d.method) && !d.whileSuspended) codes.add('namespace_suspended');
  return [...codes];
}

// ---- schema helpers shared by the descriptor tables ----

/** A success body: `success: true` and the named fields; other fields may follow. */
export function ok(shape: z.ZodRawShape = {}): z.ZodObject {
  return z.looseObject({ success: z.literal(true), ...shape });
}

/** A request body object whose listed fields are known; others are accepted and ignored or kept. */
export function body(shape: z.ZodRawShape): z.ZodObject {
  return z.looseObject(shape);
}

/** A query: every parameter arrives as a string. */
export function query(names: Record<string, string>): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, description] of Object.entries(names)) {
    const s = z.string().optional();
    shape[name] = description ? s.describe(description) : s;
  }
  return z.object(shape);
}

/** The workspace object (control-plane.md §2), as lists, details and actions return it. */
export const workspaceObject = z.looseObject({
  id: z.string(),
  name: z.string().nullable(),
  namespace: z.string().nullable(),
  status: z.string(),
  image: z.string(),
  mode: z.string(),
});

/** Routes under `/workspace/:id…`: loading the workspace can answer these. */
export const WORKSPACE_LOOKUP: readonly ErrorCode[] = ['not_found', 'bad_request'];
/** Routes that change a workspace's VM or state. */
export const WORKSPACE_STATE: readonly ErrorCode[] = [
  ...WORKSPACE_LOOKUP, 'invalid_state', 'conflict', 'workspace_waking', 'service_unavailable', 'gateway_timeout',
];
