/**
 * The console's only way to the control plane: same-origin fetches with the signed-in
 * credential's headers. A 401 ends the session (the app returns to sign-in with a message);
 * every other error becomes an ApiError carrying the envelope's code and field.
 */
import { ApiError } from './errors.js';
import { authHeaders, clearCredential, loadCredential } from './session.js';

type Listener = (message: string) => void;
const expiredListeners = new Set<Listener>();

/** Called when the API refuses the credential (expired, revoked or rotated away). */
export function onSessionExpired(fn: Listener): () => void {
  expiredListeners.add(fn);
  return () => expiredListeners.delete(fn);
}

function expire(message: string): void {
  clearCredential();
  for (const fn of expiredListeners) fn(message);
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** Raw body (a Blob or stream) sent as is, with this content type. */
  raw?: { body: BodyInit; type: string };
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The request body of `opts` (raw as given, else JSON), setting its Content-Type in `headers`. */
export function encodeBody(opts: Pick<RequestOptions, 'body' | 'raw'>, headers: Record<string, string>): BodyInit | undefined {
  if (opts.raw) {
    headers['Content-Type'] = opts.raw.type;
    return opts.raw.body;
  }
  if (opts.body === undefined) return undefined;
  headers['Content-Type'] = 'application/json';
  return JSON.stringify(opts.body);
}

/** Sends a request and returns the Response; throws ApiError for a non-2xx answer. */
export async function send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const cred = loadCredential();
  const headers: Record<string, string> = cred ? authHeaders(cred) : {};
  const body = encodeBody(opts, headers);
  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, signal: opts.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, null, 'Warren did not answer; check the connection');
  }
  if (res.ok) return res;
  const error = await ApiError.from(res, `${method} ${path} failed (${res.status})`);
  if (res.status === 401 && cred) expire('Your session ended (the key or token is no longer accepted); sign in again.');
  throw error;
}

/** JSON in, JSON out. */
export async function api<T = Record<string, unknown>>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts);
  if (res.status === 204) return {} as T;
  return await res.json() as T;
}

/** Checks a credential without keeping it (sign-in). */
export async function probeCredential(headers: Record<string, string>): Promise<void> {
  const res = await fetch('/workspace?limit=1', { headers });
  if (res.ok) return;
  throw await ApiError.from(res, `Sign-in failed (${res.status})`);
}
