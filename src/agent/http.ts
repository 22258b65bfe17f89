/**
 * The agent's tiny HTTP toolkit: a method+path router with `:param` segments, body
 * readers with hard size limits, and JSON/error responders. No framework: the agent
 * runs in every workspace and its memory counts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../contract/errors.js';
import { toWireError } from '../contract/envelope.js';
import { sendJson } from '../contract/json-reply.js';
import { BODY_LIMITS } from '../config/limits.js';
import { readCapped, requestChunks } from '../util/capped-body.js';
import { lingerThenClose } from '../util/http-guards.js';
export { sendJson };

/** Largest JSON request body accepted (413 beyond; src/config/limits.ts). */
export const MAX_JSON_BODY = BODY_LIMITS.runtimeJson;

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path with any `/runtimes/:target` prefix removed. */
  path: string;
  /** The target named in the URL prefix, or null for an un-prefixed request. */
  target: string | null;
  query: URLSearchParams;
  params: Record<string, string>;
}

/** What a handler returns; `undefined` means it wrote the response itself (streams). */
export interface Reply {
  status: number;
  body: unknown;
}

export type Handler = (ctx: RequestContext) => Promise<Reply | undefined> | Reply | undefined;

export interface RouteOptions {
  /** Serve without a token (only GET /health). */
  public?: boolean;
  /** Only served un-prefixed (GET /runtimes, /desktop…). */
  rootOnly?: boolean;
}

interface Route extends RouteOptions {
  method: string;
  segments: string[];
  handler: Handler;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export function reply(body: unknown, status = 200): Reply {
  return { status, body };
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): this {
    this.routes.push({ method, segments: splitPath(pattern), handler, ...opts });
    return this;
  }

  get(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('GET', pattern, handler, opts);
  }
  post(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('POST', pattern, handler, opts);
  }
  delete(pattern: string, handler: Handler, opts?: RouteOptions): this {
    return this.add('DELETE', pattern, handler, opts);
  }

  /**
   * The route for `method path`. Throws not_found when no pattern matches the path and
   * method_not_allowed when one matches with another method. Literal segments win
   * over params because routes are tried in registration order.
   */
  match(method: string, path: string): RouteMatch {
    const parts = splitPath(path);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      pathMatched = true;
    }
    if (pathMatched) throw new AppError('method_not_allowed', `Method ${method} not allowed on ${path}`);
    throw new AppError('not_found', `No route for ${method} ${path}`);
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** Literal segments are compared first, so routes that do not match allocate nothing. */
function matchSegments(pattern: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p.charCodeAt(0) !== 0x3a && p !== parts[i]) return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p.charCodeAt(0) === 0x3a) params[p.slice(1)] = decodeSegment(parts[i] as string);
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new AppError('bad_request', 'Malformed percent-encoding in path');
  }
}

/**
 * Reads the whole body into memory, capped in bytes while it streams (the shared rule of
 * src/util/capped-body.ts): a declared Content-Length past `limit` is refused unread, a
 * chunked body at the first chunk past it (413, field body). `sendError` then lingers so
 * a client still uploading reads the 413.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readCapped(requestChunks(req), req.headers['content-length'], limit);
}

/**
 * Reads a JSON object body. An empty body is `{}` (the SDK sends bodiless POSTs with
 * a JSON content type); anything but an object is a 400.
 */
export async function readJsonObject(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Record<string, unknown>> {
  const raw = await readRawBody(req, limit);
  const text = raw.toString('utf8').trim();
  if (text.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('bad_request', 'Request body is not valid JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError('bad_request', 'Request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}


/** Sends any thrown value as the standard error envelope; returns the status sent. */
export function sendError(res: ServerResponse, err: unknown, requestId?: string): number {
  const { status, body } = toWireError(err, requestId);
  // A refusal sent before the body was read whole (a 413 or 408, a body parser that stopped at
  // its first error) must not leave the rest on a kept-alive socket, or the next request on it
  // waits behind the leftover (issue 15's fuzzer: GET /runtime hung after a refused /files/write).
  // The rest is drained, bounded (REFUSED_BODY_DRAIN), so a sender still piping — often the
  // gateway — sees its request through and reads this answer; then the connection closes.
  const req = res.req;
  const refusedBody = req !== undefined && !req.complete && !res.headersSent;
  if (refusedBody) res.setHeader('connection', 'close');
  sendJson(res, status, body);
  if (refusedBody) lingerThenClose(req);
  return status;
}

/**
 * The request target as it may be logged: the path alone. The query string can carry the
 * caller's runtime token (`?token=`, runtime.md §1), which must never reach a log.
 */
export function loggablePath(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return (q < 0 ? raw : raw.slice(0, q)).slice(0, 512);
}
