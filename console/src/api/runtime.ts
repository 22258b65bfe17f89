/**
 * The workspace's runtime API (runtime.md), reached through Warren's gateway on the console's
 * own origin with a gateway token — never with the signed-in credential.
 *
 * Access (control-plane.md §16): the gateway needs `public_access: true` on the workspace
 * network AND the runtime API enabled. `accessState` reads both; `turnOnAccess` sets what is
 * missing (PATCH network, then POST enable).
 *
 * Tokens: one gateway token per workspace, cached in memory only (never stored), renewed a few
 * minutes before it expires. A 401 from the gateway drops the cached token and the call is
 * retried once with a fresh one; a second 401 is the caller's error (the console session
 * itself is not touched: the control-plane credential is still good).
 *
 * Runtime errors are JSON `{success:false, code, message}`; they become `ApiError`s so the
 * console's `describe(err)` shows them like any API error.
 */
import { api, buildUrl, encodeBody, type RequestOptions } from './client.js';
import { ApiError } from './errors.js';

export interface AccessStatus {
  enabled: boolean;
  running?: boolean;
}

export interface AccessState {
  /** The runtime API is enabled on the workspace. */
  enabled: boolean;
  /** The workspace network has public_access (the gateway may reach it). */
  publicAccess: boolean;
}

const enc = encodeURIComponent;
const accessPath = (id: string) => `/workspace/${enc(id)}/runtime-api-access`;

/** Both conditions of gateway access, read from the public API. */
export async function accessState(id: string, signal?: AbortSignal): Promise<AccessState> {
  const [status, network] = await Promise.all([
    api<AccessStatus>('GET', accessPath(id), { signal }),
    api<{ public_access?: boolean }>('GET', `/workspace/${enc(id)}/network`, { signal }),
  ]);
  return { enabled: status.enabled === true, publicAccess: network.public_access === true };
}

/** Turns on what `state` lacks: public access on the network, then the runtime API. */
export async function turnOnAccess(id: string, state: AccessState): Promise<void> {
  if (!state.publicAccess) await api('PATCH', `/workspace/${enc(id)}/network`, { body: { public_access: true } });
  const enabled = await api<{ token?: string; expires_at?: string }>('POST', `${accessPath(id)}/enable`);
  if (enabled.token) remember(id, enabled.token, enabled.expires_at);
}

interface CachedToken { token: string; expiresAt: number }
const tokens = new Map<string, CachedToken>();
const pending = new Map<string, Promise<string>>();
/** Renew this long before the token's expiry (a socket may reconnect with it much later). */
const RENEW_MARGIN_MS = 5 * 60_000;
/** When the API gives no expiry, keep a token this long (gateway tokens live 1 h). */
const DEFAULT_TTL_MS = 50 * 60_000;

function remember(id: string, token: string, expiresAt?: string): void {
  const at = expiresAt ? Date.parse(expiresAt) : NaN;
  tokens.set(id, { token, expiresAt: Number.isFinite(at) ? at : Date.now() + DEFAULT_TTL_MS });
}

/** Forgets the cached token (after a 401, or a close for a revoked token). */
export function dropToken(id: string): void {
  tokens.delete(id);
}

/** The workspace's gateway token, from the cache or `GET …/runtime-api-access/token`. */
export async function gatewayToken(id: string): Promise<string> {
  const cached = tokens.get(id);
  if (cached && cached.expiresAt - RENEW_MARGIN_MS > Date.now()) return cached.token;
  let p = pending.get(id);
  if (!p) {
    p = api<{ token: string; expires_at?: string }>('GET', `${accessPath(id)}/token`).then((body) => {
      remember(id, body.token, body.expires_at);
      return body.token;
    }).finally(() => pending.delete(id));
    pending.set(id, p);
  }
  return p;
}

export interface RuntimeRequest extends Omit<RequestOptions, 'raw'> {
  /** A raw body (Blob or stream) with its content type. */
  raw?: { body: BodyInit; type: string; duplex?: boolean };
}

async function once(id: string, method: string, path: string, opts: RuntimeRequest): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${await gatewayToken(id)}` };
  const body = encodeBody(opts, headers);
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: opts.signal };
  if (opts.raw?.duplex) init.duplex = 'half';
  return fetch(buildUrl(path, opts.query), init);
}

/** A stream body can be sent once only; JSON, strings and Blobs can be sent again. */
function replayable(opts: RuntimeRequest): boolean {
  return !opts.raw || typeof opts.raw.body === 'string' || opts.raw.body instanceof Blob;
}

/** A runtime call; throws ApiError for a non-2xx answer (after one token renewal on 401). */
export async function runtimeSend(id: string, method: string, path: string, opts: RuntimeRequest = {}): Promise<Response> {
  let res: Response;
  try {
    res = await once(id, method, path, opts);
    if (res.status === 401 && replayable(opts)) {
      await res.body?.cancel().catch(() => undefined);
      dropToken(id);
      res = await once(id, method, path, opts);
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError' || err instanceof ApiError) throw err;
    throw new ApiError(0, null, 'The workspace did not answer; check the connection');
  }
  if (res.ok) return res;
  if (res.status === 401) dropToken(id);
  throw await ApiError.from(res, `${method} ${path} failed (${res.status})`);
}

/** JSON in, JSON out. */
export async function runtimeJson<T = Record<string, unknown>>(id: string, method: string, path: string, opts: RuntimeRequest = {}): Promise<T> {
  const res = await runtimeSend(id, method, path, opts);
  return await res.json() as T;
}

/** The URL of the workspace's multiplexed WebSocket (`/ws?token=`: browsers cannot set headers there). */
export async function socketUrl(id: string): Promise<string> {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws?token=${enc(await gatewayToken(id))}`;
}

/** Whether an error means gateway access is off (the gate should be shown again). */
export function isAccessError(err: unknown): boolean {
  return err instanceof ApiError && ['public_access_required', 'runtime_api_disabled'].includes(err.code);
}
